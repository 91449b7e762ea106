/* A small in-process fake of WebHCat and WebHDFS for the analytics unit tests: files live in
 * memory, answers have the documented shapes (307 redirects to a "DataNode" for OPEN and CREATE,
 * 400 "Could not find job" for unknown jobs), and each test decides when and how a job ends
 * (or, in auto_finish mode, every job succeeds at once). Included by exactly one file of each
 * test executable. */
#ifndef TEST_ANALYTICS_FAKE_H
#define TEST_ANALYTICS_FAKE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gg_buf.h"

#define FAKE_FILES 32768 /* files at once; deleted ones free their slot */
#define FAKE_JOBS  32    /* WebHCat jobs; auto_finish mode reuses the slots in turn */

typedef struct ffile {
    char path[256];
    char *data;
    size_t len;
    int64_t mtime;
} ffile;

typedef struct fjob {
    char id[32];
    char state[16];
    char statusdir[256];
    char *execute;
    char *define; /* the first define field, or NULL */
    char *form;   /* the whole POST hive body */
    int exit;     /* -1 while it runs */
} fjob;

typedef struct fake {
    struct MHD_Daemon *d;
    unsigned short port;
    pthread_mutex_t lock;
    ffile files[FAKE_FILES];
    size_t nfiles; /* slots ever used: a deleted file's slot has data NULL */
    fjob jobs[FAKE_JOBS];
    size_t njobs;
    size_t submitted; /* POST hive answered, ever */
    size_t polls;     /* GET jobs/:jobid asked */
    bool auto_finish; /* a submitted job has succeeded (one row) before the answer */
    int64_t clock;
    bool busy;          /* WebHCat answers 503 */
    int slow_submit_ms; /* POST hive queues the job, then takes this long to answer */
    int slow_list_ms;   /* LISTSTATUS takes this long to answer */
    int offset_opens;   /* OPENs that started past byte 0 */
    /* What a production WebHCat, or what stands in front of it, may do. */
    unsigned status_html;  /* GET jobs/:id answers this status with a proxy's HTML page */
    unsigned submit_fail;  /* POST hive queues the job, then answers this status (HTML) */
    bool submit_fail_json; /* ... with WebHCat's own JSON error instead */
    bool null_exit;        /* ended jobs report exitValue null (WebHCat's job state cleaned up) */
    int slow_kill_ms;      /* DELETE kills, then takes this long to answer */
    bool kill_fail;        /* DELETE kills, then answers 500 (a failed Beeline kill query) */
    int kill_refuse;       /* the next this many DELETEs answer 500 without killing */
    int list_hide;         /* GET jobs leaves every job out for this many more listings */
    int slow_jobs_ms;      /* GET jobs takes this long */
    bool create_refuse;    /* WebHDFS CREATE below /jobs answers 500 (HDFS in trouble) */
    int status_calls, delete_calls, list_calls;
    int64_t status_at[256]; /* monotonic ms of each GET jobs/:id */
} fake;

/* The test thread changes the fake's behaviour under its lock: its handler threads read it there.
 */
#define fake_set(f, field, value)                                                                  \
    do {                                                                                           \
        pthread_mutex_lock(&(f)->lock);                                                            \
        *(field) = (value);                                                                        \
        pthread_mutex_unlock(&(f)->lock);                                                          \
    } while (0)

static ffile *ffind(fake *f, const char *path)
{
    for (size_t i = 0; i < f->nfiles; i++)
        if (f->files[i].data && strcmp(f->files[i].path, path) == 0)
            return &f->files[i];
    return NULL;
}

static void fput_locked(fake *f, const char *path, const char *data, size_t len)
{
    ffile *x = ffind(f, path);
    for (size_t i = 0; !x && i < f->nfiles; i++)
        if (!f->files[i].data)
            x = &f->files[i]; /* a deleted file's slot */
    if (!x) {
        assert_true(f->nfiles < FAKE_FILES);
        x = &f->files[f->nfiles++];
    }
    if (!x->data)
        snprintf(x->path, sizeof(x->path), "%s", path);
    free(x->data);
    x->data = malloc(len + 1);
    memcpy(x->data, data, len);
    x->data[len] = '\0';
    x->len = len;
    x->mtime = ++f->clock;
}

static void fput(fake *f, const char *path, const char *data)
{
    pthread_mutex_lock(&f->lock);
    fput_locked(f, path, data, strlen(data));
    pthread_mutex_unlock(&f->lock);
}

/* Whether path is a directory: "/" or a proper prefix of some file's path. */
static bool fdir(fake *f, const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < f->nfiles; i++)
        if (f->files[i].data &&
            (n == 1 || (strncmp(f->files[i].path, path, n) == 0 && f->files[i].path[n] == '/')))
            return true;
    return n == 1;
}

static json_t *fstatus(const char *suffix, bool dir, size_t len, int64_t mtime)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "pathSuffix", suffix, "type",
                     dir ? "DIRECTORY" : "FILE", "length", (json_int_t)len, "modificationTime",
                     (json_int_t)mtime);
}

static json_t *flist(fake *f, const char *path)
{
    json_t *arr = json_array();
    size_t n = strlen(path) == 1 ? 0 : strlen(path);
    for (size_t i = 0; i < f->nfiles; i++) {
        const char *p = f->files[i].path;
        if (!f->files[i].data || strncmp(p, path, n) != 0 || p[n] != '/')
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%s", p + n + 1);
        char *slash = strchr(name, '/');
        if (slash)
            *slash = '\0';
        bool dup = false;
        for (size_t k = 0; k < json_array_size(arr); k++)
            dup |= strcmp(json_string_value(json_object_get(json_array_get(arr, k), "pathSuffix")),
                          name) == 0;
        if (!dup)
            json_array_append_new(
                arr, fstatus(name, slash != NULL, slash ? 0 : f->files[i].len, f->files[i].mtime));
    }
    return json_pack("{s:{s:o}}", "FileStatuses", "FileStatus", arr);
}

typedef struct fconn {
    gg_buf body;
} fconn;

static enum MHD_Result freply(struct MHD_Connection *c, unsigned status, json_t *j,
                              const char *location)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : strdup("");
    json_decref(j);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (location)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* An error page of a reverse proxy in front of WebHCat: HTML, never WebHCat's JSON. */
static enum MHD_Result fhtml(struct MHD_Connection *c, unsigned status)
{
    char page[160];
    snprintf(page, sizeof(page),
             "<html><head><title>%u</title></head><body><h1>%u</h1><hr>nginx</body></html>", status,
             status);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(page), page, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/html");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Sleeps ms with the fake's lock released (held by the caller). */
static void fsleep_unlocked(fake *f, int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    pthread_mutex_unlock(&f->lock);
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&f->lock);
}

static int64_t fmono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* One form field of an x-www-form-urlencoded body, decoded (malloc'd), or NULL. */
static char *form_field(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != '=')
            continue;
        size_t len = strcspn(p + n + 1, "&");
        char *v = strndup(p + n + 1, len);
        for (char *c = v; *c; c++)
            if (*c == '+')
                *c = ' ';
        MHD_http_unescape(v);
        return v;
    }
    return NULL;
}

static json_t *job_status(const fjob *j, bool null_exit)
{
    static const char *const names[] = {"RUNNING", "SUCCEEDED", "FAILED", "PREP", "KILLED"};
    int run = 1;
    for (int i = 0; i < 5; i++)
        if (strcmp(names[i], j->state) == 0)
            run = i + 1;
    json_t *defines = json_array();
    if (j->define)
        json_array_append_new(defines, json_string(j->define));
    return json_pack("{s:{s:s, s:i, s:s}, s:s, s:s, s:o, s:{s:s, s:s?, s:o}}", "status", "state",
                     j->state, "runState", run, "failureInfo", "NA", "id", j->id, "percentComplete",
                     "map 50% reduce 0%", "exitValue",
                     j->exit >= 0 && !null_exit ? json_integer(j->exit) : json_null(), "userargs",
                     "statusdir", j->statusdir, "execute", j->execute, "define", defines);
}

static void ffinish_files_locked(fake *f, size_t i, const char *state, int exit, const char *out,
                                 const char *printed, const char *err, int split);

/* The DESCRIBE line Hive prints for a one-column int result. */
#define FAKE_ONE_COLUMN "| {\"columns\":[{\"name\":\"_c0\",\"type\":\"int\"}]} |\n"

static enum MHD_Result fwebhcat(fake *f, struct MHD_Connection *c, const char *method,
                                const char *url, const char *body)
{
    if (f->busy)
        return freply(c, 503, json_pack("{s:s}", "error", "busy"), NULL);
    if (strcmp(url, "/status") == 0)
        return freply(c, 200, json_pack("{s:s, s:s}", "status", "ok", "version", "v1"), NULL);
    if (strcmp(url, "/hive") == 0 && strcmp(method, "POST") == 0) {
        assert_true(f->njobs < FAKE_JOBS || f->auto_finish);
        size_t slot = f->njobs < FAKE_JOBS ? f->njobs++ : f->submitted % FAKE_JOBS;
        fjob *j = &f->jobs[slot];
        free(j->execute);
        free(j->form);
        j->form = strdup(body);
        snprintf(j->id, sizeof(j->id), "job_1700000000000_%04zu", ++f->submitted);
        snprintf(j->state, sizeof(j->state), "RUNNING");
        j->exit = -1;
        char *dir = form_field(body, "statusdir");
        snprintf(j->statusdir, sizeof(j->statusdir), "%s", dir ? dir : "");
        free(dir);
        j->execute = form_field(body, "execute");
        free(j->define);
        j->define = form_field(body, "define");
        if (f->auto_finish)
            ffinish_files_locked(f, slot, "SUCCEEDED", 0, "1\n", FAKE_ONE_COLUMN, "", 0);
        json_t *answer = json_pack("{s:s}", "id", j->id);
        if (f->slow_submit_ms)
            fsleep_unlocked(f, f->slow_submit_ms);
        if (f->submit_fail && f->submit_fail_json) {
            json_decref(answer);
            return freply(c, f->submit_fail, json_pack("{s:s}", "error", "Queue error"), NULL);
        }
        if (f->submit_fail) {
            json_decref(answer);
            return fhtml(c, f->submit_fail);
        }
        return freply(c, 200, answer, NULL);
    }
    if (strcmp(url, "/jobs") == 0) {
        f->list_calls++;
        if (f->slow_jobs_ms)
            fsleep_unlocked(f, f->slow_jobs_ms);
        json_t *list = json_array();
        for (size_t i = 0; i < f->njobs && f->list_hide <= 0; i++)
            json_array_append_new(list, json_pack("{s:s, s:o}", "id", f->jobs[i].id, "detail",
                                                  job_status(&f->jobs[i], f->null_exit)));
        f->list_hide--;
        return freply(c, 200, list, NULL);
    }
    bool del = strcmp(method, "DELETE") == 0;
    if (strncmp(url, "/jobs/", 6) == 0 && !del) {
        if (f->status_calls < 256)
            f->status_at[f->status_calls] = fmono_ms();
        f->status_calls++;
        if (f->status_html)
            return fhtml(c, f->status_html);
    }
    if (strncmp(url, "/jobs/", 6) == 0 && del) {
        f->delete_calls++;
        if (f->kill_refuse > 0) {
            f->kill_refuse--; /* the YARN kill failed: nothing was killed */
            return freply(c, 500, json_pack("{s:s}", "error", "RM unreachable"), NULL);
        }
    }
    for (size_t i = 0; strncmp(url, "/jobs/", 6) == 0 && i < f->njobs; i++) {
        if (strcmp(url + 6, f->jobs[i].id) == 0) {
            if (strcmp(method, "DELETE") == 0)
                snprintf(f->jobs[i].state, sizeof(f->jobs[i].state), "KILLED");
            if (del && f->slow_kill_ms)
                fsleep_unlocked(f, f->slow_kill_ms);
            if (del && f->kill_fail)
                return freply(c, 500, json_pack("{s:s}", "error", "non-zero exit code 1"), NULL);
            return freply(c, 200, job_status(&f->jobs[i], f->null_exit), NULL);
        }
    }
    return freply(c, 400, json_pack("{s:s}", "error", "Could not find job"), NULL);
}

static enum MHD_Result fwebhdfs(fake *f, struct MHD_Connection *c, const char *path)
{
    const char *op = arg(c, "op");
    char loc[512];
    ffile *x = ffind(f, path);
    if (strcmp(op, "CREATE") == 0 && f->create_refuse && strncmp(path, "/jobs/", 6) == 0)
        return freply(c, 500, json_pack("{s:{s:s}}", "RemoteException", "exception", "IOException"),
                      NULL);
    if (strcmp(op, "CREATE") == 0 || strcmp(op, "OPEN") == 0) {
        if (op[0] == 'O' && !x)
            return freply(
                c, 404,
                json_pack("{s:{s:s}}", "RemoteException", "exception", "FileNotFoundException"),
                NULL);
        snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/dn/%s?path=%s&offset=%s&overwrite=%s",
                 f->port, op[0] == 'C' ? "create" : "open", path,
                 arg(c, "offset") ? arg(c, "offset") : "0",
                 arg(c, "overwrite") ? arg(c, "overwrite") : "false");
        return freply(c, 307, NULL, loc);
    }
    if (strcmp(op, "RENAME") == 0 && x) {
        ffile *old = ffind(f, arg(c, "destination"));
        if (old) {
            free(old->data);
            old->data = NULL;
        }
        snprintf(x->path, sizeof(x->path), "%s", arg(c, "destination"));
        return freply(c, 200, json_pack("{s:b}", "boolean", 1), NULL);
    }
    if (strcmp(op, "SETTIMES") == 0 && x) {
        x->mtime = ++f->clock;
        return freply(c, 200, NULL, NULL);
    }
    if (strcmp(op, "DELETE") == 0) {
        for (size_t i = 0; i < f->nfiles; i++)
            if (strncmp(f->files[i].path, path, strlen(path)) == 0) {
                free(f->files[i].data);
                f->files[i].data = NULL;
            }
        return freply(c, 200, json_pack("{s:b}", "boolean", 1), NULL);
    }
    if (strcmp(op, "GETFILESTATUS") == 0 && (x || fdir(f, path)))
        return freply(
            c, 200,
            json_pack("{s:o}", "FileStatus", fstatus("", !x, x ? x->len : 0, x ? x->mtime : 0)),
            NULL);
    if (strcmp(op, "LISTSTATUS") == 0 && f->slow_list_ms) {
        fsleep_unlocked(f, f->slow_list_ms);
        x = ffind(f, path);
    }
    if (strcmp(op, "LISTSTATUS") == 0 && x)
        return freply(c, 200,
                      json_pack("{s:{s:[o]}}", "FileStatuses", "FileStatus",
                                fstatus("", false, x->len, x->mtime)),
                      NULL);
    if (strcmp(op, "LISTSTATUS") == 0 && fdir(f, path))
        return freply(c, 200, flist(f, path), NULL);
    return freply(c, 404,
                  json_pack("{s:{s:s}}", "RemoteException", "exception", "FileNotFoundException"),
                  NULL);
}

/* The "DataNode": the targets of the redirects. */
static enum MHD_Result fdatanode(fake *f, struct MHD_Connection *c, const char *url,
                                 const char *body, size_t len)
{
    const char *path = arg(c, "path");
    if (strcmp(url, "/dn/create") == 0 && strcmp(arg(c, "overwrite"), "false") == 0 &&
        ffind(f, path))
        return freply(
            c, 403,
            json_pack("{s:{s:s}}", "RemoteException", "exception", "FileAlreadyExistsException"),
            NULL);
    if (strcmp(url, "/dn/create") == 0) {
        fput_locked(f, path, body, len);
        return freply(c, 201, NULL, NULL);
    }
    ffile *x = ffind(f, path);
    size_t off = (size_t)strtoul(arg(c, "offset"), NULL, 10);
    if (off > 0)
        f->offset_opens++;
    if (!x || off > x->len)
        return freply(c, 404, NULL, NULL);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(x->len - off, x->data + off, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result fhandler(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)version;
    fake *f = cls;
    fconn *fc = *con_cls;
    if (!fc) {
        *con_cls = calloc(1, sizeof(fconn));
        return MHD_YES;
    }
    if (*upload_size) {
        gg_buf_append(&fc->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = gg_buf_str(&fc->body);
    pthread_mutex_lock(&f->lock);
    enum MHD_Result rc;
    f->polls += strncmp(url, "/templeton/v1/jobs/", 19) == 0 && strcmp(method, "GET") == 0;
    if (strncmp(url, "/templeton/v1", 13) == 0)
        rc = fwebhcat(f, c, method, url + 13, body);
    else if (strncmp(url, "/webhdfs/v1", 11) == 0)
        rc = fwebhdfs(f, c, url[11] ? url + 11 : "/");
    else
        rc = fdatanode(f, c, url, body, fc->body.len);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static void fdone(void *cls, struct MHD_Connection *c, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    fconn *fc = *con_cls;
    if (fc)
        gg_buf_free(&fc->body);
    free(fc);
    *con_cls = NULL;
}

/* The directory a script's INSERT OVERWRITE DIRECTORY '<dir>' names (plain paths only), or "". */
static void fresult_dir(const fjob *j, char *out, size_t outlen)
{
    const char *m = j->execute ? strstr(j->execute, "INSERT OVERWRITE DIRECTORY '") : NULL;
    out[0] = '\0';
    if (m) {
        m += strlen("INSERT OVERWRITE DIRECTORY '");
        snprintf(out, outlen, "%.*s", (int)strcspn(m, "'"), m);
    }
}

/* Ends job i the way WebHCat's launcher does: statusdir files first, then the state. The rows
 * (out) go where Hive would put them: to the result directory of a script that names one (in
 * files of at most `split` rows when split > 0, as several writing tasks would), else stdout;
 * printed (stdout of such a script, e.g. DESCRIBE's JSON line) is its stdout. */
static void ffinish_files_locked(fake *f, size_t i, const char *state, int exit, const char *out,
                                 const char *printed, const char *err, int split)
{
    char path[300], code[16], dir[256];
    snprintf(code, sizeof(code), "%d\n", exit);
    fresult_dir(&f->jobs[i], dir, sizeof(dir));
    int part = 0, rows = 0;
    for (const char *p = out, *begin = out; dir[0] && *p; p++) {
        if (*p == '\n' && (++rows == split || !p[1])) {
            snprintf(path, sizeof(path), "%s/%06d_0", dir, part++);
            fput_locked(f, path, begin, (size_t)(p + 1 - begin));
            begin = p + 1;
            rows = 0;
        }
    }
    snprintf(path, sizeof(path), "%s/stdout", f->jobs[i].statusdir);
    const char *text = dir[0] ? printed : out;
    fput_locked(f, path, text, strlen(text));
    snprintf(path, sizeof(path), "%s/stderr", f->jobs[i].statusdir);
    fput_locked(f, path, err, strlen(err));
    snprintf(path, sizeof(path), "%s/exit", f->jobs[i].statusdir);
    fput_locked(f, path, code, strlen(code));
    f->jobs[i].exit = exit;
    snprintf(f->jobs[i].state, sizeof(f->jobs[i].state), "%s", state);
}

static void ffinish_files(fake *f, size_t i, const char *state, int exit, const char *out,
                          const char *printed, const char *err, int split)
{
    pthread_mutex_lock(&f->lock);
    ffinish_files_locked(f, i, state, exit, out, printed, err, split);
    pthread_mutex_unlock(&f->lock);
}

static void ffinish(fake *f, size_t i, const char *state, int exit, const char *out,
                    const char *err)
{
    ffinish_files(f, i, state, exit, out, "", err, 0);
}

static size_t fjobs(fake *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->njobs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int fake_setup(void **state)
{
    fake *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, fhandler, f, MHD_OPTION_NOTIFY_COMPLETED, fdone, f, MHD_OPTION_END);
    assert_non_null(f->d);
    f->port = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    fake *f = *state;
    MHD_stop_daemon(f->d);
    for (size_t i = 0; i < f->nfiles; i++)
        free(f->files[i].data);
    for (size_t i = 0; i < f->njobs; i++) {
        free(f->jobs[i].execute);
        free(f->jobs[i].define);
        free(f->jobs[i].form);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

#endif
