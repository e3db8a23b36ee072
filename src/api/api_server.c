/*
 * api_server.c — servers (R125–R128), server groups (R129–R132) and SSH
 * identities (R133–R137) for admins.
 *
 * The generic model-driven handlers do the work; the domain rules live in
 * src/core/server.c and src/core/identity.c and run from the resources'
 * before_write hooks and from the delete handlers here: group and key
 * references, protected groups, servers in use, identities in use, and the
 * encryption of private keys (which never appear in any response).
 */
#include "api.h"
#include "resource.h"
#include "../core/identity.h"
#include "../core/server.h"
#include "../util/strutil.h"

/* Answers a module error: ERR_INVALID → 400, ERR_NOT_FOUND → 404, others as they are. */
static int fail_with(struct api_ctx *c, int rc, const struct err *e)
{
    if (rc == ERR_INVALID)
        return api_fail(c, 400, "%s", e->msg);
    if (rc == ERR_NOT_FOUND)
        return api_fail(c, 404, "%s", e->msg);
    c->err = *e;
    return rc;
}

/* The integer value of a key argument already checked against its FT_INT field. */
static int64_t key_value(json_t *key)
{
    int64_t id = 0;
    if (json_is_integer(key))
        return json_integer_value(key);
    if (json_is_string(key) &&
        parse_i64(json_string_value(key), json_string_length(key), INT64_MIN, INT64_MAX, &id) == 0)
        return id;
    return json_is_true(key); /* FT_INT takes true/false as 1/0 */
}

/* ---- servers ---- */

static int server_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    struct err e = { 0 };
    UNUSED(key), UNUSED(create);
    int rc = server_check_values(c->db, values, &e);
    return rc ? fail_with(c, rc, &e) : 0;
}

static const struct resource server_resource = {
    .m = &server_model,
    .before_write = server_before_write,
};

static int api_server_delete(struct api_ctx *c)
{
    struct err e = { 0 };
    json_t *key = NULL;
    int rc = resource_key(c, &server_resource, &key);
    if (rc == 0 && (rc = server_check_delete(c->db, key_value(key), &e)))
        rc = fail_with(c, rc, &e);
    if (rc == 0)
        rc = resource_delete(c, &server_resource, key);
    json_decref(key);
    if (rc == 0)
        api_set_data(c, json_array());
    return rc;
}

/* ---- server groups ---- */

static int group_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    struct err e = { 0 };
    UNUSED(key), UNUSED(create);
    int rc = server_group_check_values(values, &e);
    return rc ? fail_with(c, rc, &e) : 0;
}

static const struct resource group_resource = {
    .m = &server_group_model,
    .before_write = group_before_write,
};

static int api_server_group_delete(struct api_ctx *c)
{
    struct err e = { 0 };
    json_t *key = NULL;
    int rc = resource_key(c, &group_resource, &key);
    if (rc == 0 && (rc = server_group_check_delete(c->db, key_value(key), &e)))
        rc = fail_with(c, rc, &e);
    if (rc == 0)
        rc = resource_delete(c, &group_resource, key);
    json_decref(key);
    if (rc == 0)
        api_set_data(c, json_array());
    return rc;
}

/* ---- identities ---- */

static int identity_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    struct err e = { 0 };
    int rc = identity_prepare(c->db, c->cfg, values, create ? 0 : key_value(key), &e);
    return rc ? fail_with(c, rc, &e) : 0;
}

static const struct resource identity_resource = {
    .m = &identity_model,
    .before_write = identity_before_write,
};

static int api_identity_delete(struct api_ctx *c)
{
    struct err e = { 0 };
    json_t *key = NULL;
    int64_t users = 0;
    int rc = resource_key(c, &identity_resource, &key);
    if (rc == 0 && (rc = identity_count_users(c->db, key_value(key), &users, &e)))
        rc = fail_with(c, rc, &e);
    if (rc == 0 && users > 0)
        rc = api_fail(c, 400, "Can't delete identity %lld: %lld server(s) use it as settings.key_id",
                      (long long)key_value(key), (long long)users);
    if (rc == 0)
        rc = resource_delete(c, &identity_resource, key);
    json_decref(key);
    if (rc == 0)
        api_set_data(c, json_array());
    return rc;
}

/* GET /admin/server/identity/generate[?type=ed25519|rsa|ecdsa][&bits=N]: a pair, not saved. */
static int api_identity_generate(struct api_ctx *c)
{
    struct identity_pair p;
    struct err e = { 0 };
    int64_t bits = 0;
    json_t *type = json_object_get(c->args, "type");
    if (type && !json_is_null(type) && !json_is_string(type))
        return api_fail(c, 400, "Field type: must be one of ed25519|rsa|ecdsa");
    int rc = args_i64(c->args, "bits", &bits);
    if (rc == ERR_INVALID || bits < 0 || bits > 16384)
        return api_fail(c, 400, "Field bits: expected an integer");
    rc = identity_generate(json_string_value(type), (int)bits, IDENTITY_GENERATED_COMMENT, &p, &e);
    if (rc)
        return fail_with(c, rc, &e);
    api_set_data(c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "private_key", p.private_key,
                              "public_key", p.pub.public_key, "fingerprint", p.pub.fingerprint,
                              "fingerprint_sha256", p.pub.fingerprint_sha256, "type",
                              p.pub.type));
    identity_pair_free(&p);
    return 0;
}

#define R(m, p, req, h, tag, sum, data) { m, p, AUTH_ADMIN, req, h, 0, NULL, NULL, tag, sum, data }

static const struct route routes[] = {
    /* R125–R128 */
    R("GET", "/admin/server", NULL, api_resource_list, "admin", "List servers", &server_resource),
    R("PUT", "/admin/server", NULL, api_resource_create, "admin",
      "Create a server (server_gid and settings.key_id must exist)", &server_resource),
    R("POST", "/admin/server", "server_id", api_resource_update, "admin", "Update a server",
      &server_resource),
    R("DELETE", "/admin/server", "server_id", api_server_delete, "admin",
      "Delete a server (refused while user services that are not REMOVED use it)",
      &server_resource),
    /* R129–R132 */
    R("GET", "/admin/server/group", NULL, api_resource_list, "admin", "List server groups",
      &group_resource),
    R("PUT", "/admin/server/group", NULL, api_resource_create, "admin",
      "Create a server group (name, transport, type random|by-one|evenly, settings)",
      &group_resource),
    R("POST", "/admin/server/group", NULL, api_resource_update, "admin",
      "Update a server group (key group_id)", &group_resource),
    R("DELETE", "/admin/server/group", "group_id", api_server_group_delete, "admin",
      "Delete a server group (not groups 1 and 2, nor groups with servers or events)",
      &group_resource),
    /* R133–R137 */
    R("GET", "/admin/server/identity", NULL, api_resource_list, "admin",
      "List SSH identities (never with private_key)", &identity_resource),
    R("PUT", "/admin/server/identity", NULL, api_resource_create, "admin",
      "Add an SSH identity {name, private_key}; the key is checked, fingerprinted and stored "
      "encrypted",
      &identity_resource),
    R("POST", "/admin/server/identity", NULL, api_resource_update, "admin",
      "Update an SSH identity (key id)", &identity_resource),
    R("DELETE", "/admin/server/identity", "id", api_identity_delete, "admin",
      "Delete an SSH identity (refused while servers use it)", &identity_resource),
    R("GET", "/admin/server/identity/generate", NULL, api_identity_generate, "admin",
      "Generate a key pair without saving it (type ed25519, rsa or ecdsa; optional bits)",
      NULL),
};

const struct route_table api_server_routes = ROUTE_TABLE(routes);
