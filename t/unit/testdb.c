/*
 * testdb.c — see testdb.h.
 */
#include "testdb.h"

#include <unistd.h>

int testdb_pg_url(const char *url, const char *name, char *out, size_t outlen)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return -1;
    auth += 3;
    size_t n = strcspn(auth, "/?");
    const char *query = strchr(auth + n, '?');
    int len = snprintf(out, outlen, "%.*s/%s%s", (int)(auth - url + n), url, name,
                       query ? query : "");
    return len > 0 && (size_t)len < outlen ? 0 : -1;
}

void testdb_lite_remove(const char *path)
{
    char p[256];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}
