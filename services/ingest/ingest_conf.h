/* ingest_conf: ingest's settings: the table behind its flags, GRIDGATE_* variables and --help,
 * and the check that runs before anything starts. */
#ifndef INGEST_CONF_H
#define INGEST_CONF_H

#include "gg_config.h"

extern const gg_conf_spec ingest_spec;

#endif
