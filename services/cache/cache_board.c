/* cache_board: the page, its script and its style, served from the binary (see cache_board.h). */
#include "cache_board.h"

#include <string.h>

/* Generated from board/ by gg_embed_text (services/cache/CMakeLists.txt). */
extern const unsigned char cache_board_html[];
extern const unsigned char cache_board_js[];
extern const unsigned char cache_board_css[];

/* Nothing inline and nothing from elsewhere: the script and the style are files of this origin,
 * the script talks to this origin only, and the page cannot be framed or submit forms.
 * img-src data: is for the empty favicon, which spares the browser a request that would 404. */
const char cache_board_csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'";

typedef struct board_asset {
    const char *path;
    const char *content_type;
    const unsigned char *body;
} board_asset;

static const board_asset assets[] = {
    {"/", "text/html; charset=utf-8", cache_board_html},
    {"/board.js", "text/javascript; charset=utf-8", cache_board_js},
    {"/board.css", "text/css; charset=utf-8", cache_board_css},
};

static void handle_asset(gg_http_req *req, void *ud)
{
    const board_asset *a = ud;
    gg_http_add_header(req, "Content-Security-Policy", cache_board_csp);
    gg_http_add_header(req, "X-Content-Type-Options", "nosniff");
    gg_http_add_header(req, "Referrer-Policy", "no-referrer");
    /* Revalidated on every load, so a new release's page never runs an old script. */
    gg_http_add_header(req, "Cache-Control", "no-cache");
    const char *body = (const char *)a->body;
    gg_http_reply_static(req, 200, a->content_type, body, strlen(body));
}

int cache_board_mount(gg_http_server *http)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(*assets); i++) {
        if (gg_http_route(http, "GET", assets[i].path, 0, handle_asset, (void *)&assets[i]) != 0)
            return -1;
    }
    return 0;
}
