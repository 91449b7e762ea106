/* analytics_conf: the analytics service's settings: the table behind its flags, GRIDGATE_*
 * variables and --help, and the check that runs before anything starts. */
#ifndef ANALYTICS_CONF_H
#define ANALYTICS_CONF_H

#include "gg_config.h"

extern const gg_conf_spec analytics_spec;

#endif
