/* gg_kafka_txn: records and consumed offsets committed in one Kafka transaction (see gg_kafka.h).
 *
 * librdkafka sorts transaction errors into retriable (call again), abortable (abort, then the
 * transaction may start over) and fatal (the handle is finished). Here a retriable error is
 * retried until the call's deadline; a transaction that cannot commit is aborted; a handle that
 * fails for good is destroyed and made again from the same configuration and transactional.id,
 * whose init_transactions() finishes or aborts whatever its predecessor left open. The caller
 * only learns whether the records and offsets are visible, are not, or may be. */
#include "gg_kafka_int.h"
#include "gg_time.h"

#include <stdlib.h>
#include <string.h>

/* How long a begun transaction may stay open before the coordinator aborts it. It also bounds
 * what a crashed process leaves behind: read_committed readers of the records' partitions, and
 * the next owner of the consumed partitions (KIP-447: it waits for pending offsets), wait for
 * its open transaction at most this long. The commit itself takes a few round trips. */
#define GG_KAFKA_TXN_TIMEOUT_MS "15000"

struct gg_kafka_txn {
    gg_kafka_conf conf; /* strings owned by the caller */
    gg_prop *props;     /* conf's props, then the transactional ones */
    gg_log *log;
    gg_kafka_producer *p; /* NULL until made (again) */
    int ready;            /* init_transactions() succeeded on p */
};

gg_kafka_txn *gg_kafka_txn_new(const gg_kafka_conf *conf, const char *transactional_id, gg_log *log,
                               char *err, size_t errlen)
{
    if (!conf || !transactional_id || !*transactional_id) {
        gg_kafka_errf(err, errlen, "kafka transactions need a configuration and an id");
        return NULL;
    }
    gg_kafka_txn *t = calloc(1, sizeof(*t));
    gg_prop *props = calloc(conf->nprops + 2, sizeof(*props));
    if (!t || !props) {
        free(t);
        free(props);
        gg_kafka_errf(err, errlen, "out of memory");
        return NULL;
    }
    /* The timeout before the operator's properties, which may change it; the id after them: it
     * is this process's own, and two writers sharing one would fence each other. */
    size_t n = 0;
    props[n++] = (gg_prop){"transaction.timeout.ms", GG_KAFKA_TXN_TIMEOUT_MS};
    for (size_t i = 0; i < conf->nprops; i++)
        props[n++] = conf->props[i];
    props[n++] = (gg_prop){"transactional.id", transactional_id};
    t->conf = *conf;
    t->conf.props = props;
    t->conf.nprops = n;
    t->props = props;
    t->log = log;
    /* Made now so that a bad property stops the start; init_transactions() waits for a broker
     * and happens with the first commit. */
    t->p = gg_kafka_producer_new(&t->conf, log, NULL, NULL, err, errlen);
    if (!t->p) {
        free(props);
        free(t);
        return NULL;
    }
    return t;
}

void gg_kafka_txn_destroy(gg_kafka_txn *t)
{
    if (!t)
        return;
    gg_kafka_producer_destroy(t->p); /* an open transaction is aborted by the coordinator */
    free(t->props);
    free(t);
}

/* ---- error handling ------------------------------------------------------------------------ */

static int64_t left_ms(int64_t deadline)
{
    int64_t left = deadline - gg_time_mono_ms();
    return left > 0 ? left : 0;
}

/* Keeps error's text in err (prefixed with what failed) and frees it. */
static void take_error(rd_kafka_error_t *error, const char *what, char *err, size_t errlen)
{
    gg_kafka_errf(err, errlen, "kafka %s: %s", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
}

/* The handle is finished: it goes, and the next call makes a new one. */
static void discard(gg_kafka_txn *t, const char *why)
{
    gg_warn(t->log, "kafka transactional producer made again", "{s:s}", "error", why);
    gg_kafka_producer_destroy(t->p);
    t->p = NULL;
    t->ready = 0;
}

/* A call whose error is retriable is made again until the deadline. Returns NULL on success. */
typedef rd_kafka_error_t *(*txn_call)(gg_kafka_txn *t, void *arg, int timeout_ms);

static rd_kafka_error_t *with_retries(gg_kafka_txn *t, txn_call call, void *arg, int64_t deadline)
{
    for (;;) {
        rd_kafka_error_t *error = call(t, arg, (int)left_ms(deadline));
        if (!error || !rd_kafka_error_is_retriable(error) || left_ms(deadline) == 0)
            return error;
        rd_kafka_error_destroy(error);
        struct timespec ts = {0, 50 * 1000000L}; /* the broker is busy: do not spin */
        nanosleep(&ts, NULL);
    }
}

static rd_kafka_error_t *call_init(gg_kafka_txn *t, void *arg, int timeout_ms)
{
    (void)arg;
    return rd_kafka_init_transactions(gg_kafka_producer_handle(t->p), timeout_ms);
}

static rd_kafka_error_t *call_abort(gg_kafka_txn *t, void *arg, int timeout_ms)
{
    (void)arg;
    return rd_kafka_abort_transaction(gg_kafka_producer_handle(t->p), timeout_ms);
}

static rd_kafka_error_t *call_commit(gg_kafka_txn *t, void *arg, int timeout_ms)
{
    (void)arg;
    return rd_kafka_commit_transaction(gg_kafka_producer_handle(t->p), timeout_ms);
}

typedef struct offsets_arg {
    const rd_kafka_topic_partition_list_t *offsets;
    const rd_kafka_consumer_group_metadata_t *group;
} offsets_arg;

/* Retried with the same offsets and group metadata, as librdkafka asks. */
static rd_kafka_error_t *call_offsets(gg_kafka_txn *t, void *arg, int timeout_ms)
{
    const offsets_arg *a = arg;
    return rd_kafka_send_offsets_to_transaction(gg_kafka_producer_handle(t->p), a->offsets,
                                                a->group, timeout_ms);
}

/* Ends a transaction that has not been asked to commit: nothing of it becomes visible, whether
 * the abort gets through or the handle is made again (its successor's init aborts it). */
static gg_kafka_txn_result abort_txn(gg_kafka_txn *t, int64_t deadline)
{
    rd_kafka_error_t *error = with_retries(t, call_abort, NULL, deadline);
    if (error) {
        char why[256];
        take_error(error, "abort_transaction", why, sizeof(why));
        discard(t, why);
    }
    return GG_KAFKA_TXN_ABORTED;
}

/* Makes the handle and initialises its transactions when needed. Returns 0 when ready. */
static int prepare(gg_kafka_txn *t, int64_t deadline, char *err, size_t errlen)
{
    if (!t->p)
        t->p = gg_kafka_producer_new(&t->conf, t->log, NULL, NULL, err, errlen);
    if (!t->p)
        return -1;
    if (t->ready)
        return 0;
    rd_kafka_error_t *error = with_retries(t, call_init, NULL, deadline);
    if (!error) {
        t->ready = 1;
        return 0;
    }
    int fatal = !rd_kafka_error_is_retriable(error);
    take_error(error, "init_transactions", err, errlen);
    if (fatal)
        discard(t, err);
    return -1;
}

/* ---- the transaction ----------------------------------------------------------------------- */

int gg_kafka_txn_init(gg_kafka_txn *t, int timeout_ms, char *err, size_t errlen)
{
    return prepare(t, gg_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), err, errlen);
}

gg_kafka_txn_result gg_kafka_txn_commit(gg_kafka_txn *t, gg_kafka_record *recs, size_t n,
                                        const rd_kafka_topic_partition_list_t *offsets,
                                        gg_kafka_consumer *consumer, int timeout_ms, char *err,
                                        size_t errlen)
{
    int64_t deadline = gg_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (size_t i = 0; i < n; i++)
        recs[i].err = RD_KAFKA_RESP_ERR__STATE; /* until sent */
    if (prepare(t, deadline, err, errlen) != 0)
        return GG_KAFKA_TXN_ABORTED;
    rd_kafka_t *rk = gg_kafka_producer_handle(t->p);
    rd_kafka_error_t *error = rd_kafka_begin_transaction(rk);
    if (error) {
        take_error(error, "begin_transaction", err, errlen);
        discard(t, err); /* only a broken handle refuses to begin */
        return GG_KAFKA_TXN_ABORTED;
    }
    /* Every record acknowledged first: one refused for good (too large ...) is known by the
     * caller from its err, which commit_transaction() would only report for the batch. */
    if (n > 0 && gg_kafka_producer_send_batch(t->p, recs, n, (int)left_ms(deadline), err, errlen) !=
                     RD_KAFKA_RESP_ERR_NO_ERROR)
        return abort_txn(t, deadline);

    /* KIP-447: the consumer's group generation goes with the offsets, so that a process the
     * group has replaced meanwhile is fenced here instead of committing for the new owner. */
    rd_kafka_consumer_group_metadata_t *group =
        rd_kafka_consumer_group_metadata(gg_kafka_consumer_handle(consumer));
    offsets_arg oa = {offsets, group};
    error = offsets && offsets->cnt > 0 ? with_retries(t, call_offsets, &oa, deadline) : NULL;
    rd_kafka_consumer_group_metadata_destroy(group);
    if (error) {
        take_error(error, "send_offsets_to_transaction", err, errlen);
        return abort_txn(t, deadline);
    }

    error = with_retries(t, call_commit, NULL, deadline);
    if (!error)
        return GG_KAFKA_TXN_COMMITTED;
    int abortable = rd_kafka_error_txn_requires_abort(error);
    take_error(error, "commit_transaction", err, errlen);
    if (abortable)
        return abort_txn(t, deadline);
    /* Fatal, or still retriable at the deadline: the coordinator may have the commit. The next
     * handle's init_transactions() settles it one way or the other. */
    discard(t, err);
    return GG_KAFKA_TXN_UNKNOWN;
}
