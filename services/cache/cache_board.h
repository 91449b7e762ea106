/* cache_board: the built-in station board, a page for people rather than programs.
 *
 *   GET /            the page (board/index.html)
 *   GET /board.js    its script: loads /v1/stations and the recent readings, then follows
 *                    /v1/stream (polling /v1/latest while the stream cannot be had)
 *   GET /board.css   its style sheet
 *
 * The three files are embedded in the binary at build time (gg_embed_text), so the page needs
 * nothing but the service: no build step, no asset from anywhere else. Every answer carries a
 * Content-Security-Policy that lets the page load only its own script and style and talk only
 * to its own origin, so even a station id crafted to look like markup could not run code. */
#ifndef CACHE_BOARD_H
#define CACHE_BOARD_H

#include "gg_http.h"

/* The policy of every board answer (exposed for the tests). */
extern const char cache_board_csp[];

/* Adds the three routes. Returns 0, or -1. */
int cache_board_mount(gg_http_server *http);

#endif
