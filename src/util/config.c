/*
 * config.c — environment configuration and the env-file loader (config.h).
 */
#include "config.h"
#include "strutil.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/* Strips one pair of matching surrounding quotes, as systemd's EnvironmentFile= does. */
static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static int load_env_file(const char *path, struct err *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, ERR_INVALID, "cannot read env-file %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        if (str_starts(s, "export "))
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            rc = err_set(e, ERR_INVALID, "%s:%d: expected KEY=VALUE", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        setenv(key, unquote(trim(eq + 1)), 0);
    }
    free(line);
    fclose(f);
    return rc;
}

static int env_int(const char *name, int def, int min, int max, int *out, struct err *e)
{
    const char *v = getenv(name);
    int64_t n;
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    if (parse_i64z(v, min, max, &n))
        return err_set(e, ERR_INVALID, "%s must be an integer between %d and %d, got \"%s\"",
                       name, min, max, v);
    *out = (int)n;
    return 0;
}

int config_parse_listen(struct config *c, const char *s, struct err *e)
{
    const char *colon = strrchr(s, ':');
    const char *port = colon ? colon + 1 : s;
    int64_t p;
    if (parse_i64z(port, 1, 65535, &p))
        return err_set(e, ERR_INVALID, "LISTEN must be host:port with a port 1-65535, got \"%s\"", s);
    c->listen_port = (int)p;
    if (colon && colon > s) {
        size_t n = (size_t)(colon - s);
        if (memchr(s, ':', n) && s[0] != '[')
            return err_set(e, ERR_INVALID,
                           "LISTEN: write IPv6 addresses in brackets, e.g. [::1]:8080, got \"%s\"", s);
        if (n >= sizeof(c->listen_host))
            return err_set(e, ERR_INVALID, "LISTEN host is too long");
        memcpy(c->listen_host, s, n);
        c->listen_host[n] = '\0';
        if (c->listen_host[0] == '[' && n > 2 && c->listen_host[n - 1] == ']') {
            memmove(c->listen_host, c->listen_host + 1, n - 2);
            c->listen_host[n - 2] = '\0';
        }
    }
    return 0;
}

static int load_tz(struct config *c, struct err *e)
{
    const char *tz = getenv("TZ");
    if (!tz || !*tz)
        tz = "UTC";
    if (strlen(tz) >= sizeof(c->tz))
        return err_set(e, ERR_INVALID, "TZ is too long");
    const char *name = tz[0] == ':' ? tz + 1 : tz;
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    struct stat st; /* a directory such as "Europe" is readable but is no zone */
    if (strcmp(name, "UTC") != 0 && (strstr(name, "..") || access(path, R_OK) != 0 ||
                                     stat(path, &st) != 0 || !S_ISREG(st.st_mode)))
        return err_set(e, ERR_INVALID, "TZ: unknown time zone \"%s\"", tz);
    snprintf(c->tz, sizeof(c->tz), "%s", tz);
    setenv("TZ", c->tz, 1);
    tzset();
    return 0;
}

static int load_database_url(struct config *c, struct err *e)
{
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url)
        url = "sqlite://var/billd.db";
    if (!str_starts(url, "sqlite:") && !str_starts(url, "postgresql://") &&
        !str_starts(url, "postgres://"))
        return err_set(e, ERR_INVALID,
                       "DATABASE_URL must be sqlite:///path/to/file.db or postgresql://..., got \"%s\"",
                       url);
    c->database_url = xstrdup(url);
    return 0;
}

int config_load(struct config *c, const char *env_file, struct err *e)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 8080;
    c->max_body = 1u << 20;
    c->max_body_large = 16u << 20;
    c->header_memory = 64u << 10;
    c->log_level = LOG_INFO;

    if (env_file && load_env_file(env_file, e))
        return ERR_INVALID;
    if (load_database_url(c, e) || load_tz(c, e))
        return ERR_INVALID;
    const char *listen = getenv("LISTEN");
    if (listen && *listen && config_parse_listen(c, listen, e))
        return ERR_INVALID;
    if (env_int("WORKERS_COUNT", 4, 2, 256, &c->workers, e) ||
        env_int("MAX_CONNECTIONS", 1024, 16, 1000000, &c->max_connections, e) ||
        env_int("MAX_CONNECTIONS_PER_IP", 512, 1, 1000000, &c->max_connections_per_ip, e) ||
        env_int("IDLE_TIMEOUT", 30, 1, 3600, &c->idle_timeout, e) ||
        env_int("MIN_PASSWORD_LENGTH", 8, 1, 1024, &c->min_password_length, e))
        return ERR_INVALID;
    const char *lvl = getenv("LOG_LEVEL");
    if (lvl && *lvl && log_parse_level(lvl, &c->log_level))
        return err_set(e, ERR_INVALID, "LOG_LEVEL must be debug, info, warn or error, got \"%s\"", lvl);
    const char *pw = getenv("BILLD_ADMIN_PASSWORD");
    if (pw && *pw)
        c->admin_password = xstrdup(pw);
    const char *trusted = getenv("TRUSTED_IPS");
    if (trusted && *trusted)
        c->trusted_ips = xstrdup(trusted);
    return 0;
}

void config_free(struct config *c)
{
    free(c->database_url);
    free(c->admin_password);
    free(c->trusted_ips);
    memset(c, 0, sizeof(*c));
}
