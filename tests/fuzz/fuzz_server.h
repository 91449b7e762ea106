/* fuzz_server: a loopback HTTP server (libmicrohttpd, started once per process) that answers
 * every request with the reply the fuzz target last set, so that the service's real backend
 * client (libcurl, analytics_client) and the reply parsers on top of it read fuzzed answers. */
#ifndef FUZZ_SERVER_H
#define FUZZ_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* Starts the server on the first call; returns its base URL ("http://127.0.0.1:PORT"). */
const char *fuzz_server_url(void);

/* The answer to every following request: status, an optional Location header and the body. */
void fuzz_server_reply(unsigned status, const char *location, const uint8_t *body, size_t len);

/* Requests answered since the server started (checks that a call reached the server). */
unsigned long fuzz_server_requests(void);

#endif
