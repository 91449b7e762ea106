/* gg_conf_http: the validator of http(s) URL settings (see gg_config.h). A file of its own, like
 * gg_conf_kafka.c and gg_conf_mongo.c, so that only a service whose option table names it links
 * libcurl: a library a service links is loaded, relocated and initialised at its start, and its
 * pages count in the service's resident memory whether it is used or not. */
#include "gg_conf_int.h"

#include <curl/curl.h>
#include <string.h>

int gg_conf_check_http_url(const char *value, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    CURLUcode uc = CURLUE_OK;
    int rc = -1;
    if (!u || !value)
        gg_conf_why_set(why, whylen, u ? "expected an http:// or https:// URL" : "out of memory");
    else if ((uc = curl_url_set(u, CURLUPART_URL, value, 0)) != CURLUE_OK)
        gg_conf_why_set(why, whylen, "not a URL (%s)", curl_url_strerror(uc));
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        gg_conf_why_set(why, whylen, "the scheme must be http:// or https://");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        gg_conf_why_set(why, whylen, "the URL has no host");
    else
        rc = 0;
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
