/* ingest_writer: the thread that runs the store's bulk writes for the pipeline. */
#ifndef INGEST_WRITER_H
#define INGEST_WRITER_H

#include <pthread.h>

typedef struct ingest_write ingest_write;

/* The writer thread: runs one bulk write at a time for the pipeline, so that the store works
 * on one batch while the pipeline consumes and parses the next. It touches nothing but the
 * write it was handed. */
typedef struct ingest_writer {
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    ingest_write *job; /* handed over, not yet collected */
    int finished;      /* job has run */
    int stop;
} ingest_writer;

int ingest_writer_start(ingest_writer *w);
void ingest_writer_stop(ingest_writer *w);
void ingest_writer_submit(ingest_writer *w, ingest_write *job);
/* The submitted write once it has run (the writer is then free), waiting up to timeout_ms
 * (negative: as long as it takes); NULL while it is still running or when none was submitted. */
ingest_write *ingest_writer_collect(ingest_writer *w, int timeout_ms);

#endif
