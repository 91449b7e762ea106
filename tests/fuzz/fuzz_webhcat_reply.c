/* fuzz_webhcat_reply: the service's WebHCat calls reading fuzzed answers.
 *
 * Input: byte 0 picks the call (status probe, POST hive, GET jobs/:id, DELETE jobs/:id, GET jobs
 * to find a lost submission), byte 1 the HTTP status the server answers with, the rest is the
 * answer's body (real ones: corpus/webhcat_reply/, captured from the stack's WebHCat). Each call
 * goes through the real client (libcurl) to a loopback server, then the parsers the service
 * uses: the JSON object check, error classification, job ids, and the mapping of a job status to
 * the service's job state. Checks: a call either succeeds with a usable result or fails with a
 * classified error and a message, and a job id taken from an answer is always URL-safe. */
#include <string.h>

#include "analytics_job.h"
#include "analytics_webhcat.h"
#include "fuzz.h"
#include "fuzz_server.h"

static analytics_backend backend;
static char webhcat_url[96], webhdfs_url[96];

static const unsigned statuses[] = {200, 200, 200, 200, 201, 400, 401, 403,
                                    404, 409, 429, 500, 502, 503, 504, 302};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(webhcat_url, sizeof(webhcat_url), "%s/templeton/v1", fuzz_server_url());
    snprintf(webhdfs_url, sizeof(webhdfs_url), "%s/webhdfs/v1", fuzz_server_url());
    backend.http = analytics_client_new(10000, NULL);
    FUZZ_CHECK(backend.http != NULL);
    backend.webhcat_url = webhcat_url;
    backend.webhdfs_url = webhdfs_url;
    backend.user = "gridgate";
    return 0;
}

static void check_failure(int rc, const analytics_err *e)
{
    if (rc == 0)
        return;
    FUZZ_CHECK(rc == -1);
    FUZZ_CHECK(e->kind != AE_NONE && e->msg[0] != '\0');
}

static void check_id(int rc, const char *id)
{
    if (rc == 0)
        FUZZ_CHECK(analytics_webhcat_id_ok(id));
}

static void job_status(void)
{
    json_t *answer = NULL;
    analytics_err e = {0};
    int rc = analytics_webhcat_job(&backend, "job_1764000000000_0001", &answer, &e);
    check_failure(rc, &e);
    if (rc != 0) {
        FUZZ_CHECK(answer == NULL);
        return;
    }
    FUZZ_CHECK(json_is_object(answer));
    analytics_remote_state rs;
    if (analytics_job_map_remote(answer, &rs) == 0) {
        FUZZ_CHECK(analytics_job_state_name(rs.state) != NULL);
        FUZZ_CHECK(rs.progress >= -1 && rs.progress <= 100);
        FUZZ_CHECK(strlen(rs.failure) < sizeof(rs.failure));
    }
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
    fuzz_server_reply(status, NULL, data + 2, size - 2);
    analytics_err e = {0};
    char id[96] = "", err[256] = "";
    int rc;
    switch (data[0] % 5) {
    case 0:
        rc = analytics_webhcat_probe(&backend, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || err[0] != '\0');
        break;
    case 1:
        rc = analytics_webhcat_submit(&backend, "SELECT 1;", "/gridgate/jobs/x", NULL, 10000, id,
                                      sizeof(id), &e);
        check_failure(rc, &e);
        check_id(rc, id);
        break;
    case 2:
        job_status();
        break;
    case 3:
        check_failure(analytics_webhcat_kill(&backend, "job_1764000000000_0001", 10000, &e), &e);
        break;
    default:
        rc = analytics_webhcat_find(&backend, "/gridgate/jobs/x", 10000, id, sizeof(id), &e);
        check_failure(rc, &e);
        check_id(rc, id);
        break;
    }
    return 0;
}
