/*
 * bcache.c — the billing engine's read cache of services, strategy and events
 * (see bcache.h). Services are few per batch: a small array searched in order,
 * bypassed once full.
 */
#include "bcache.h"
#include "../core/event.h"
#include "../spool/spool.h"

#define BCACHE_SERVICES 64
#define BCACHE_DISCOUNTS 16
#define BCACHE_SPOOL_EVENTS 16

struct bcache_discount {
    int64_t months, percent;
};

struct bcache {
    struct bill_service svc[BCACHE_SERVICES];
    int nsvc;
    bool have_strategy;
    enum calc_strategy strategy;
    struct bcache_discount disc[BCACHE_DISCOUNTS];
    int ndisc;
    json_t *events; /* every events row in id order, or NULL until read */
    struct {
        const json_t *row; /* an element of events */
        struct spool_event ev;
    } spool[BCACHE_SPOOL_EVENTS];
    int nspool;
};

struct bcache *bcache_new(void)
{
    return xcalloc(1, sizeof(struct bcache));
}

void bcache_free(struct bcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nsvc; i++)
        bill_service_free(&c->svc[i]);
    for (int i = 0; i < c->nspool; i++)
        spool_event_release(&c->spool[i].ev);
    json_decref(c->events);
    free(c);
}

/* A copy of s that owns its strings and shares its JSON. */
static void service_copy(const struct bill_service *s, struct bill_service *out)
{
    *out = *s;
    out->name = s->name ? xstrdup(s->name) : NULL;
    out->category = s->category ? xstrdup(s->category) : NULL;
    json_incref(s->config);
    json_incref(s->children);
}

int bcache_service(struct bcache *c, struct db *db, int64_t id, struct bill_service *out,
                   struct err *e)
{
    if (!c)
        return bill_service_load(db, id, out, e);
    for (int i = 0; i < c->nsvc; i++) {
        if (c->svc[i].service_id == id) {
            service_copy(&c->svc[i], out);
            return 0;
        }
    }
    int rc = bill_service_load(db, id, out, e);
    if (rc == 0 && c->nsvc < BCACHE_SERVICES)
        service_copy(out, &c->svc[c->nsvc++]);
    return rc;
}

enum calc_strategy bcache_strategy(struct bcache *c, struct db *db)
{
    if (!c)
        return withdraw_strategy(db);
    if (!c->have_strategy) {
        c->strategy = withdraw_strategy(db);
        c->have_strategy = true;
    }
    return c->strategy;
}

int bcache_period_discount(struct bcache *c, struct db *db, int64_t months, int64_t *out,
                           struct err *e)
{
    for (int i = 0; c && i < c->ndisc; i++) {
        if (c->disc[i].months == months) {
            *out = c->disc[i].percent;
            return 0;
        }
    }
    int rc = withdraw_period_discount(db, months, out, e);
    if (rc == 0 && c && c->ndisc < BCACHE_DISCOUNTS)
        c->disc[c->ndisc++] = (struct bcache_discount){ months, *out };
    return rc;
}

const struct spool_event *bcache_spool_event(struct bcache *c, const json_t *row,
                                             json_t *(*make)(const json_t *row))
{
    if (!c)
        return NULL;
    for (int i = 0; i < c->nspool; i++)
        if (c->spool[i].row == row)
            return &c->spool[i].ev;
    if (c->nspool == BCACHE_SPOOL_EVENTS)
        return NULL;
    json_t *ev = make(row);
    c->spool[c->nspool].row = row;
    spool_event_prepare(ev, &c->spool[c->nspool].ev);
    json_decref(ev);
    return &c->spool[c->nspool++].ev;
}

int bcache_events(struct bcache *c, struct db *db, const char *name, const char *category,
                  json_t **out, struct err *e)
{
    if (!c)
        return event_find(db, name, category, out, e);
    if (!c->events) {
        int rc = event_rows(db, &c->events, e);
        if (rc)
            return rc;
    }
    *out = event_select(c->events, name, category);
    return 0;
}
