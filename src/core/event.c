/*
 * event.c — placeholder while the module is being written (issue 3).
 */
#include "event.h"
