/*
 * config.c — environment configuration and the env-file loader (config.h).
 */
#include "config.h"
#include "strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
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

/* ---- identity encryption keys (docs/identity-keys.md) ---- */

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes exactly 2 * CONFIG_SECRET_KEY_LEN hex digits into out. Returns 0 or -1. */
static int parse_hex_key(const char *s, size_t len, unsigned char *out)
{
    if (len != 2 * CONFIG_SECRET_KEY_LEN)
        return -1;
    for (size_t i = 0; i < CONFIG_SECRET_KEY_LEN; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Reads a key file: 64 hex digits, surrounding white space ignored. */
static int read_key_file(const char *path, unsigned char *out, struct err *e)
{
    char text[256];
    struct stat st;
    FILE *f = fopen(path, "re");
    if (!f)
        return err_set(e, ERR_INVALID, "secret key file %s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        log_warn("secret key file is readable by other users; chmod 600 it", "file=%s", path);
    fclose(f);
    text[n] = '\0';
    char *start = text;
    while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
        start++;
    size_t len = strcspn(start, " \t\r\n");
    int rc = parse_hex_key(start, len, out) || start[len + strspn(start + len, " \t\r\n")];
    explicit_bzero(text, sizeof(text));
    if (rc)
        return err_set(e, ERR_INVALID, "secret key file %s must hold 64 hexadecimal digits", path);
    return 0;
}

/* Writes all of buf to fd. Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/*
 * Writes text to a private temporary file next to path and links it into
 * place, so a concurrent reader never sees a partial key and a concurrent
 * creator loses cleanly (EEXIST). Returns 0 or -1 with errno set.
 */
static int publish_key_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text)) || fsync(fd);
    int saved = errno;
    close(fd);
    if (rc == 0 && link(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    unlink(tmp);
    errno = saved;
    return rc ? -1 : 0;
}

/* Creates path (and its directory, mode 0700) holding a new random key. */
static int create_key_file(const char *path, unsigned char *out, struct err *e)
{
    char text[2 * CONFIG_SECRET_KEY_LEN + 2];
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash > dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return err_set(e, ERR_INVALID, "cannot create the directory %s for the secret key: %s",
                           dir, strerror(errno));
    }
    if (getrandom(out, CONFIG_SECRET_KEY_LEN, 0) != CONFIG_SECRET_KEY_LEN)
        return err_set(e, ERR_INVALID, "cannot generate a secret key: %s", strerror(errno));
    for (size_t i = 0; i < CONFIG_SECRET_KEY_LEN; i++)
        snprintf(text + 2 * i, 3, "%02x", out[i]);
    snprintf(text + 2 * CONFIG_SECRET_KEY_LEN, 2, "\n");
    int rc = publish_key_file(path, text);
    int saved = errno;
    explicit_bzero(text, sizeof(text));
    if (rc && saved == EEXIST) /* another process created it first: use that one */
        return read_key_file(path, out, e);
    if (rc)
        return err_set(e, ERR_INVALID, "cannot create the secret key file %s: %s", path,
                       strerror(saved));
    log_info("created a new secret key for identity encryption; back it up", "file=%s", path);
    return 0;
}

/* The current key: BILLD_SECRET_KEY, BILLD_SECRET_KEY_FILE or the default file. */
static int load_secret_key(struct config *c, struct err *e)
{
    const char *hex = getenv("BILLD_SECRET_KEY");
    const char *file = getenv("BILLD_SECRET_KEY_FILE");
    struct stat st;
    if (hex && *hex && file && *file)
        return err_set(e, ERR_INVALID, "set only one of BILLD_SECRET_KEY and BILLD_SECRET_KEY_FILE");
    if (hex && *hex) {
        c->secret_key_source = xstrdup("BILLD_SECRET_KEY");
        if (parse_hex_key(hex, strlen(hex), c->secret_key))
            return err_set(e, ERR_INVALID, "BILLD_SECRET_KEY must be 64 hexadecimal digits (32 bytes)");
        return 0;
    }
    if (file && *file) {
        c->secret_key_source = xstrdup(file);
        return read_key_file(file, c->secret_key, e);
    }
    c->secret_key_source = xstrdup(CONFIG_SECRET_KEY_DEFAULT_FILE);
    if (stat(CONFIG_SECRET_KEY_DEFAULT_FILE, &st) == 0 || errno != ENOENT)
        return read_key_file(CONFIG_SECRET_KEY_DEFAULT_FILE, c->secret_key, e);
    return create_key_file(CONFIG_SECRET_KEY_DEFAULT_FILE, c->secret_key, e);
}

static int load_secret_keys(struct config *c, struct err *e)
{
    if (load_secret_key(c, e))
        return ERR_INVALID;
    const char *old = getenv("BILLD_SECRET_KEY_OLD");
    if (!old || !*old)
        return 0;
    if (parse_hex_key(old, strlen(old), c->secret_key_old))
        return err_set(e, ERR_INVALID, "BILLD_SECRET_KEY_OLD must be 64 hexadecimal digits (32 bytes)");
    c->secret_key_old_set = true;
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
    int test_clock = 0;
    if (env_int("BILLD_TEST_CLOCK", 0, 0, 1, &test_clock, e))
        return ERR_INVALID;
    c->test_clock = test_clock == 1;
    const char *lvl = getenv("LOG_LEVEL");
    if (lvl && *lvl && log_parse_level(lvl, &c->log_level))
        return err_set(e, ERR_INVALID, "LOG_LEVEL must be debug, info, warn or error, got \"%s\"", lvl);
    const char *pw = getenv("BILLD_ADMIN_PASSWORD");
    if (pw && *pw)
        c->admin_password = xstrdup(pw);
    const char *trusted = getenv("TRUSTED_IPS");
    if (trusted && *trusted)
        c->trusted_ips = xstrdup(trusted);
    return load_secret_keys(c, e);
}

void config_free(struct config *c)
{
    free(c->database_url);
    free(c->admin_password);
    free(c->trusted_ips);
    free(c->secret_key_source);
    explicit_bzero(c->secret_key, sizeof(c->secret_key));
    explicit_bzero(c->secret_key_old, sizeof(c->secret_key_old));
    memset(c, 0, sizeof(*c));
}
