/*
 * ratelimit.c — in-memory fixed-window counters (see ratelimit.h): an open
 * addressing table of (bucket|ip) keys guarded by one mutex; expired slots
 * are reused.
 */
#include "ratelimit.h"

#include <arpa/inet.h>
#include "../util/strutil.h"
#include <pthread.h>

struct counter {
    char key[96];
    int count;
    int64_t expires;
};

static struct counter table[RATELIMIT_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool ipv4_in(uint32_t ip, const char *net, int bits)
{
    struct in_addr a;
    inet_pton(AF_INET, net, &a);
    uint32_t mask = bits ? ~(uint32_t)0 << (32 - bits) : 0;
    return (ip & mask) == (ntohl(a.s_addr) & mask);
}

static bool in_list(const char *ip, const char *list)
{
    size_t n = strlen(ip);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, ip, n) == 0)
            return true;
        p += len;
    }
    return false;
}

bool ratelimit_exempt(const char *ip, const char *trusted)
{
    struct in_addr a4;
    ip = ip_unmap_v4(ip); /* an IPv4 client seen through a dual-stack socket */
    if (in_list(ip, trusted))
        return true;
    if (strcmp(ip, "::1") == 0)
        return true;
    if (inet_pton(AF_INET, ip, &a4) != 1)
        return false;
    uint32_t v = ntohl(a4.s_addr);
    return ipv4_in(v, "127.0.0.0", 8) || ipv4_in(v, "10.0.0.0", 8) ||
           ipv4_in(v, "172.16.0.0", 12) || ipv4_in(v, "192.168.0.0", 16);
}

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Finds the slot of key, or a free/expired one to take. Caller holds lock. */
static struct counter *find(const char *key, int64_t now, bool *existing)
{
    uint32_t h = hash_key(key);
    struct counter *free_slot = NULL;
    for (int i = 0; i < 32; i++) {
        struct counter *c = &table[(h + (uint32_t)i) % RATELIMIT_SLOTS];
        bool live = c->expires > now;
        if (live && strcmp(c->key, key) == 0) {
            *existing = true;
            return c;
        }
        if (!live && !free_slot)
            free_slot = c;
    }
    *existing = false;
    /* table crowded: reuse the home slot, forgetting a counter is the safe failure */
    return free_slot ? free_slot : &table[h % RATELIMIT_SLOTS];
}

int ratelimit_count(const char *bucket, const char *ip, int64_t now)
{
    char key[96];
    bool existing;
    snprintf(key, sizeof(key), "%s|%s", bucket, ip);
    pthread_mutex_lock(&lock);
    struct counter *c = find(key, now, &existing);
    int n = existing ? c->count : 0;
    pthread_mutex_unlock(&lock);
    return n;
}

void ratelimit_hit(const char *bucket, const char *ip, int ttl, int64_t now)
{
    char key[96];
    bool existing;
    snprintf(key, sizeof(key), "%s|%s", bucket, ip);
    pthread_mutex_lock(&lock);
    struct counter *c = find(key, now, &existing);
    if (!existing) {
        snprintf(c->key, sizeof(c->key), "%s", key);
        c->count = 0;
        c->expires = now + ttl;
    }
    c->count++;
    pthread_mutex_unlock(&lock);
}

void ratelimit_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof(table));
    pthread_mutex_unlock(&lock);
}
