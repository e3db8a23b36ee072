/*
 * api_payment.c — placeholder while the module is being written (issue 4).
 */
#include "api.h"

const struct route_table api_payment_routes = { NULL, 0 };
