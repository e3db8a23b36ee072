/*
 * storage.h — per-user named blobs (table storage; data-model.md §3.18,
 * other.md §1).
 *
 * An entry is keyed by (user_id, name): every user has their own namespace,
 * so two users may both own "my_vpn_key" and nothing here ever reaches
 * another user's row — every function takes the owner explicitly. Data is
 * arbitrary bytes (NUL and invalid UTF-8 included) of at most
 * STORAGE_DATA_MAX bytes. settings is a JSON object whose "json" key is 1
 * exactly when the data was stored as JSON text; the module keeps that flag
 * in step with the data on every write. An entry may be linked to one of its
 * owner's user services (user_service_id); callers check the link with
 * storage_check_service() first (DECISIONS D11).
 *
 * Names: 1 to STORAGE_NAME_MAX characters of A-Z a-z 0-9 _ - . @, not "."
 * or ".." (so a name is always a safe URL path segment and file name).
 */
#ifndef BILLD_STORAGE_H
#define BILLD_STORAGE_H

#include "../db/model.h"

#include <jansson.h>

#define STORAGE_NAME_MAX 32
#define STORAGE_DATA_MAX ((size_t)16 << 20)
/* The message of a name with other characters. */
#define STORAGE_NAME_CHARS_MSG "Field name: only letters, digits, '_', '-', '.' and '@' are allowed"

extern const struct model storage_model;

/* What to write. Pointers are borrowed for the call. */
struct storage_write {
    int64_t user_id;
    const char *name;
    const char *data;         /* bytes, may contain NUL; NULL with len 0 = empty */
    size_t len;
    bool has_data;            /* replace: false keeps the stored data (create: ignored) */
    bool json;                /* data is JSON text: settings.json = 1, else the key is removed */
    int64_t user_service_id;  /* 0 = no link */
    bool has_service;         /* replace: false keeps the stored link (create: ignored) */
    json_t *settings;         /* object replacing the stored settings; NULL keeps them ({} on
                                 create); any other value (JSON null) resets them to {} */
};

/* One entry as read back. */
struct storage_item {
    char *data;               /* owned bytes plus a NUL terminator not counted in len */
    size_t len;
    bool json;                /* settings.json is set */
    int64_t user_service_id;  /* 0 = none */
};

/* Checks a name against the rules above. Returns 0 or ERR_INVALID ("Field name: …", 400). */
int storage_check_name(const char *name, struct err *e);

/*
 * True when s[0..len) is one JSON text (RFC 8259, any top-level value) that
 * jansson would also decode: valid UTF-8, no \u0000, no lone surrogates,
 * integers within int64, reals finite, no value inside 2048 containers. Runs in
 * constant memory, so a 16 MiB body costs no parse tree.
 */
bool storage_json_valid(const char *s, size_t len);

/*
 * SHM's rule for a raw upload: the data is JSON when the request's
 * Content-Type (may be NULL) contains "application/json" (any case) and the
 * body is a valid JSON text.
 */
bool storage_is_json(const char *content_type, const char *data, size_t len);

/*
 * The Content-Disposition value for downloading name as an attachment:
 * attachment; filename="<name>", with characters outside printable ASCII,
 * '"' and '\' replaced by '_' and, when any were, an RFC 6266/5987
 * filename*=UTF-8''<percent-encoded name> as well. Returns an owned string.
 */
char *storage_disposition(const char *name);

/*
 * Checks that user service usi belongs to user_id. Returns 0, or
 * ERR_NOT_FOUND (404 "Object not found. Check the ID.") when it does not
 * exist or belongs to someone else.
 */
int storage_check_service(struct db *db, int64_t user_id, int64_t usi, struct err *e);

/*
 * Creates entry (w->user_id, w->name) with w->data, created = now. Returns 0,
 * ERR_CONFLICT (400 "Can't save the data. Perhaps the record already
 * exists?") when the name is taken, ERR_LIMIT (413) when the data is too
 * large, or a database error.
 */
int storage_create(struct db *db, const struct storage_write *w, int64_t now, struct err *e);

/*
 * Replaces what w names of an existing entry (data, link, settings); the
 * json flag follows the data when data is given. Returns 0, ERR_NOT_FOUND
 * (404 "Object not found. Check the ID."), ERR_LIMIT or a database error.
 */
int storage_replace(struct db *db, const struct storage_write *w, struct err *e);

/*
 * Reads entry (user_id, name) into *out (release with storage_item_release).
 * Returns 0, ERR_NOT_FOUND (404) or a database error.
 */
int storage_read(struct db *db, int64_t user_id, const char *name, struct storage_item *out,
                 struct err *e);

/* Frees the data of it (safe on a zeroed or already released item). */
void storage_item_release(struct storage_item *it);

/* Deletes entry (user_id, name). Returns 0, ERR_NOT_FOUND (404) or a database error. */
int storage_delete(struct db *db, int64_t user_id, const char *name, struct err *e);

/*
 * Deletes the entries of user_id linked to user service usi (a user service
 * entering REMOVED, billing.md §10.4); *deleted (may be NULL) gets the count.
 * Returns 0 or a database error.
 */
int storage_delete_by_service(struct db *db, int64_t user_id, int64_t usi, int64_t *deleted,
                              struct err *e);

#endif
