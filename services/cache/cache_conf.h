/* cache_conf: the cache's settings: the table behind its flags, GRIDGATE_* variables and --help,
 * and the check that runs before anything starts. */
#ifndef CACHE_CONF_H
#define CACHE_CONF_H

#include "gg_config.h"

extern const gg_conf_spec cache_spec;

#endif
