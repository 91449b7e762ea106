/* analytics_webhdfs: the WebHDFS REST calls the service makes: LISTSTATUS and GETFILESTATUS
 * (input fingerprints, job records), OPEN with offset and length following the DataNode redirect
 * (results, streamed), CREATE in the documented two steps and RENAME (job records, leases),
 * SETTIMES, and DELETE. Paths are absolute HDFS paths. */
#ifndef ANALYTICS_WEBHDFS_H
#define ANALYTICS_WEBHDFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics_backend.h"

typedef struct analytics_hdfs_entry {
    char name[256]; /* pathSuffix: "" when the listed path is a file itself */
    bool is_dir;
    int64_t length; /* bytes */
    int64_t mtime;  /* modificationTime, ms since the epoch */
} analytics_hdfs_entry;

typedef struct analytics_hdfs_list {
    analytics_hdfs_entry *items;
    size_t count;
} analytics_hdfs_list;

/* Health probe (gg_health_probe); ud is the analytics_backend. GETFILESTATUS of "/". */
int analytics_webhdfs_probe(void *ud, char *err, size_t errlen);

/* LISTSTATUS: the entries of a directory, or the file itself (one entry with name "") when path
 * is a file. AE_NOT_FOUND when path does not exist. */
int analytics_webhdfs_list(const analytics_backend *b, const char *path, analytics_hdfs_list *out,
                           analytics_err *e);
void analytics_hdfs_list_free(analytics_hdfs_list *l);

/* GETFILESTATUS. */
int analytics_webhdfs_stat(const analytics_backend *b, const char *path, analytics_hdfs_entry *out,
                           analytics_err *e);

/* OPEN from byte offset, at most length bytes (length < 0: to the end), streamed to sink, which
 * may stop early. */
int analytics_webhdfs_read(const analytics_backend *b, const char *path, int64_t offset,
                           int64_t length, analytics_sink sink, void *ud, analytics_err *e);

/* OPEN of a small file, whole: *out gets a malloc'd NUL-terminated copy. A file larger than max
 * is an error (AE_BACKEND). */
int analytics_webhdfs_read_all(const analytics_backend *b, const char *path, size_t max, char **out,
                               size_t *len, analytics_err *e);

/* CREATE with overwrite=true: the NameNode answers 307 with the DataNode to send the bytes to.
 * Parent directories are created as needed. */
int analytics_webhdfs_write(const analytics_backend *b, const char *path, const char *data,
                            size_t len, analytics_err *e);

/* Replaces path whole: CREATE of tmp, then RENAME over path (renameoptions=OVERWRITE), so a
 * reader sees the old bytes or the new ones, never a file being written. */
int analytics_webhdfs_replace(const analytics_backend *b, const char *path, const char *tmp,
                              const char *data, size_t len, analytics_err *e);

/* CREATE with overwrite=false: 0 when this call made the file, 1 when it existed already (HDFS
 * creates at most once, so of several callers exactly one gets 0), -1 on any other error. */
int analytics_webhdfs_create_new(const analytics_backend *b, const char *path, const char *data,
                                 size_t len, analytics_err *e);

/* SETTIMES: sets the file's modification time (the access time is left alone). */
int analytics_webhdfs_touch(const analytics_backend *b, const char *path, int64_t mtime_ms,
                            analytics_err *e);

/* DELETE recursive=true. A missing path counts as deleted. */
int analytics_webhdfs_delete(const analytics_backend *b, const char *path, analytics_err *e);

#endif
