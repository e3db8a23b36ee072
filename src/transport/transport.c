/*
 * transport.c — the table of transports by name (transports.md).
 */
#include "transport.h"

static const struct transport *const transports[] = {
    &transport_ssh,
    &transport_http,
    &transport_mail,
    &transport_local,
};

const struct transport *transport_find(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(transports); i++)
        if (!strcmp(transports[i]->name, name))
            return transports[i];
    return NULL;
}
