/* fuzz_webhdfs_reply: the service's WebHDFS calls reading fuzzed answers.
 *
 * Input: byte 0 picks the call (LISTSTATUS, GETFILESTATUS, OPEN of a small file such as a job
 * record, CREATE, DELETE), byte 1 the HTTP status, the rest is the answer's body (real ones:
 * corpus/webhdfs_reply/, captured from the stack's HDFS). Each call goes through the real client
 * (libcurl) to a loopback server, then the service's parsers: FileStatus entries, RemoteException
 * errors, and a file read whole, which the job store reads as a job record. Checks: a failed call
 * has a classified error, listed names fit their buffer, a read never exceeds its bound, and a
 * job record that loads writes back to a record that loads the same. */
#include <string.h>

#include "analytics_job.h"
#include "analytics_webhdfs.h"
#include "fuzz.h"
#include "fuzz_server.h"

#define READ_MAX 4096

static analytics_backend backend;
static char webhcat_url[96], webhdfs_url[96], datanode[128];

static const unsigned statuses[] = {200, 200, 200, 200, 201, 307, 400, 401,
                                    403, 404, 500, 502, 503, 504, 302, 204};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(webhcat_url, sizeof(webhcat_url), "%s/templeton/v1", fuzz_server_url());
    snprintf(webhdfs_url, sizeof(webhdfs_url), "%s/webhdfs/v1", fuzz_server_url());
    snprintf(datanode, sizeof(datanode), "%s/datanode/webhdfs/v1/f?op=CREATE", fuzz_server_url());
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

static void list(void)
{
    analytics_hdfs_list l;
    analytics_err e = {0};
    int rc = analytics_webhdfs_list(&backend, "/data/text", &l, &e);
    check_failure(rc, &e);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        FUZZ_CHECK(strlen(l.items[i].name) < sizeof(l.items[i].name));
    analytics_hdfs_list_free(&l);
}

/* What the job store does with a record it reads back. */
static void job_record(const char *text, size_t len)
{
    json_t *rec = json_loadb(text, len, 0, NULL);
    char why[128];
    analytics_job *j = rec ? analytics_job_from_record(rec, why, sizeof(why)) : NULL;
    json_decref(rec);
    if (!j)
        return;
    json_t *again = analytics_job_record(j);
    FUZZ_CHECK(again != NULL);
    analytics_job *k = analytics_job_from_record(again, why, sizeof(why));
    FUZZ_CHECK(k != NULL);
    FUZZ_CHECK(strcmp(k->id, j->id) == 0 && k->state == j->state && k->kind == j->kind);
    FUZZ_CHECK(strcmp(k->webhcat_id, j->webhcat_id) == 0 && strcmp(k->hiveql, j->hiveql) == 0);
    json_t *view = analytics_job_view(k);
    FUZZ_CHECK(view != NULL);
    json_decref(view);
    json_decref(again);
    analytics_job_free(k);
    analytics_job_free(j);
}

static void read_small(void)
{
    char *text = NULL;
    size_t len = 0;
    analytics_err e = {0};
    int rc =
        analytics_webhdfs_read_all(&backend, "/gridgate/jobs/x.json", READ_MAX, &text, &len, &e);
    check_failure(rc, &e);
    if (rc == 0) {
        FUZZ_CHECK(text != NULL && len <= READ_MAX && strlen(text) <= len);
        job_record(text, len);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
    /* A redirect names the DataNode: the same server, which then answers the same way. */
    fuzz_server_reply(status, status == 307 ? datanode : NULL, data + 2, size - 2);
    analytics_err e = {0};
    analytics_hdfs_entry st;
    switch (data[0] % 5) {
    case 0:
        list();
        break;
    case 1: {
        int rc = analytics_webhdfs_stat(&backend, "/data/text", &st, &e);
        check_failure(rc, &e);
        if (rc == 0)
            FUZZ_CHECK(strlen(st.name) < sizeof(st.name));
        break;
    }
    case 2:
        read_small();
        break;
    case 3:
        check_failure(analytics_webhdfs_write(&backend, "/gridgate/jobs/x.json", "{}", 2, &e), &e);
        break;
    default:
        check_failure(analytics_webhdfs_delete(&backend, "/gridgate/jobs/x", &e), &e);
        break;
    }
    return 0;
}
