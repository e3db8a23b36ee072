/*
 * api_auth.c — who is calling (api.md §4): HTTP Basic, login/password
 * headers, or a session from the session-id header, the session_id header,
 * argument or cookie — in SHM's order — then the blocked check.
 *
 * Password checks go through the credential cache (credcache.h) so scripts
 * that authenticate every request do not pay for argon2 each time. A hash
 * imported from SHM ($7$ PBKDF2 or legacy SHA-1, salted with the login) is
 * accepted and replaced by argon2id on the first successful login (D17). Failed
 * password logins count toward the per-IP login limit (5 per 3 minutes),
 * whatever credential form carried them.
 */
#include "api.h"
#include "../core/credcache.h"
#include "../core/password.h"
#include "../core/session.h"
#include "../core/user.h"
#include "../util/log.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

#include <pthread.h>
#include <sodium.h>

#define LOGIN_BUCKET "user-auth"
#define LOGIN_WINDOW 180

static char dummy_hash[PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    password_hash("billd-timing-equaliser", dummy_hash);
}

static int login_failed(struct api_ctx *c)
{
    api_ratelimit_hit(c, LOGIN_BUCKET, LOGIN_WINDOW);
    c->err.code = ERR_AUTH;
    c->err_header = true;
    return api_fail(c, 401, "Incorrect login or password");
}

/*
 * After a successful check against a hash billd no longer writes (SHM's $7$
 * or SHA-1 from an import, or weaker argon2id parameters): stores a fresh
 * argon2id hash (D17). Compare-and-set on the old hash, so a password
 * changed meanwhile is never overwritten. Returns the hash now stored
 * (owned), or NULL when nothing changed; failures are only logged — the
 * login itself has succeeded.
 */
static char *upgrade_hash(struct api_ctx *c, const struct user_auth *a, const char *pw)
{
    char hash[PASSWORD_HASH_MAX];
    int64_t changed = 0;
    struct err e;
    if (!password_needs_rehash(a->password))
        return NULL;
    if (password_hash(pw, hash)) {
        log_warn("password upgrade failed", "user_id=%lld reason=hash", (long long)a->user_id);
        return NULL;
    }
    struct db_value p[] = { DB_INT(a->user_id), DB_TEXT(a->password), DB_TEXT(hash) };
    if (db_exec(c->db, "UPDATE users SET password = $3 WHERE user_id = $1 AND password = $2", p,
                3, &changed, &e)) {
        log_warn("password upgrade failed", "user_id=%lld code=%d", (long long)a->user_id, e.code);
        return NULL;
    }
    if (changed != 1)
        return NULL;
    log_info("password hash upgraded", "user_id=%lld scheme=argon2id", (long long)a->user_id);
    return xstrdup(hash);
}

/* Verifies pw for the user a, through the credential cache; upgrades an old hash. */
static bool check_password(struct api_ctx *c, const char *login, const char *pw,
                           const struct user_auth *a)
{
    int64_t now = time_now();
    if (a->password && credcache_check(login, pw, a->password, now))
        return true;
    if (!password_verify_login(a->password, login, pw))
        return false;
    char *upgraded = upgrade_hash(c, a, pw);
    credcache_store(login, pw, upgraded ? upgraded : a->password, now);
    free(upgraded);
    return true;
}

int api_password_login(struct api_ctx *c, const char *login, const char *password,
                       int64_t *user_id)
{
    struct user_auth a = { 0 };
    struct err e;
    if (api_ratelimited(c, LOGIN_BUCKET)) {
        c->err.code = ERR_LIMIT;
        return api_fail(c, 429, "429 Too Many Requests");
    }
    int rc = user_find_by_login(c->db, login, &a, &e);
    if (rc == ERR_NOT_FOUND) {
        pthread_once(&dummy_once, make_dummy_hash);
        password_verify(dummy_hash, password); /* same cost as a real check */
        return login_failed(c);
    }
    if (rc)
        return api_fail_msg(c, 503, "Can't connect to DB");
    char *lower = str_lower(xstrdup(login));
    bool ok = !a.blocked && check_password(c, lower, password, &a);
    free(lower);
    int64_t id = a.user_id;
    user_auth_free(&a);
    if (!ok)
        return login_failed(c);
    *user_id = id;
    c->password_login = true;
    return 0;
}

/* Splits "Basic base64(login:password)" (the "Basic " prefix is optional, as SHM). */
static int basic_credentials(const char *hdr, char **login, char **pw)
{
    if (strncasecmp(hdr, "Basic ", 6) == 0)
        hdr += 6;
    while (*hdr == ' ')
        hdr++;
    size_t n = strlen(hdr), len = 0;
    if (n > 4096)
        return ERR_INVALID;
    char *bin = xmalloc(n + 1);
    if (sodium_base642bin((unsigned char *)bin, n, hdr, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 &&
        sodium_base642bin((unsigned char *)bin, n, hdr, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
        free(bin);
        return ERR_INVALID;
    }
    bin[len] = '\0';
    char *colon = memchr(bin, ':', len);
    if (!colon || strlen(bin) != len) {
        free(bin);
        return ERR_INVALID;
    }
    *colon = '\0';
    *login = xstrdup(bin);
    *pw = xstrdup(colon + 1);
    free(bin);
    return 0;
}

static int auth_basic(struct api_ctx *c, const char *hdr, int64_t *uid)
{
    char *login = NULL, *pw = NULL;
    if (basic_credentials(hdr, &login, &pw))
        return login_failed(c);
    int rc = api_password_login(c, login, pw, uid);
    free(login);
    free(pw);
    return rc;
}

static const char *session_token_of(struct api_ctx *c)
{
    const char *t = http_header(c->req, "session-id");
    if (!t)
        t = http_header(c->req, "session_id");
    if (!t)
        t = args_str(c->args, "session_id");
    if (!t)
        t = http_cookie(c->req, "session_id");
    return t;
}

static int auth_session(struct api_ctx *c, int64_t *uid)
{
    struct err e;
    const char *token = session_token_of(c);
    if (!token)
        return api_fail_msg(c, 401, "Not authorized");
    int rc = session_lookup(c->db, token, time_now(), uid, &e);
    if (rc == ERR_NOT_FOUND) {
        c->err.code = ERR_AUTH;
        return api_fail_msg(c, 401, "Not authorized");
    }
    if (rc)
        return api_fail_msg(c, 503, "Can't connect to DB");
    c->session_token = token;
    return 0;
}

/* Loads the authenticated user: 400 if gone, 403 if blocked. */
static int load_caller(struct api_ctx *c, int64_t uid)
{
    struct user_auth a = { 0 };
    struct err e;
    int rc = user_find_by_id(c->db, uid, &a, &e);
    if (rc == ERR_NOT_FOUND)
        return api_fail_msg(c, 400, "User not found");
    if (rc)
        return api_fail_msg(c, 503, "Can't connect to DB");
    bool blocked = a.blocked;
    c->auth_admin = a.admin;
    user_auth_free(&a);
    if (blocked) {
        c->err.code = ERR_DENIED;
        return api_fail(c, 403, "User is blocked");
    }
    c->auth_user_id = uid;
    c->user_id = uid;
    return 0;
}

int api_authenticate(struct api_ctx *c)
{
    int64_t uid = 0;
    int rc;
    const char *authz = http_header(c->req, "Authorization");
    const char *login = http_header(c->req, "login");
    const char *pw = http_header(c->req, "password");
    if (authz)
        rc = auth_basic(c, authz, &uid);
    else if (login && pw)
        rc = api_password_login(c, login, pw, &uid);
    else
        rc = auth_session(c, &uid);
    return rc ? rc : load_caller(c, uid);
}
