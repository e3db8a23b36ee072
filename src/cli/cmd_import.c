/*
 * cmd_import.c — `billd import-shm [--tz ZONE] [--force] FILE…|-`: moves an
 * SHM installation into billd from its MySQL dump (src/import/shm_import.h,
 * docs/migrating-from-shm.md). Several files are read in order as one dump
 * (SHM's structure file, then its data file); "-" is standard input. The
 * summary goes to stdout, progress to stderr when that is a terminal.
 */
#include "cli.h"
#include "../db/migrate.h"
#include "../import/shm_import.h"
#include "../util/buf.h"

#include <errno.h>
#include <unistd.h>

struct import_args {
    const char *tz;
    bool force;
    char **files;
    int nfiles;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: billd import-shm [--env-file FILE] [--tz ZONE] [--force] DUMP... | -\n\n"
            "Imports an SHM database from its MySQL dump (mysqldump output or SHM's own seed\n"
            "files; several files are read in order as one dump, - reads standard input) into\n"
            "the billd database, in one transaction. See docs/migrating-from-shm.md.\n\n"
            "  --tz ZONE   the time zone the dump's dates are in (default: TZ, the billing zone)\n"
            "  --force     replace a database that already holds data (everything in SHM's\n"
            "              tables, the ledger and the sessions is deleted first)\n");
}

/*
 * Takes --tz and --force out of argv, compacting it (before the configuration
 * is read: --tz sets TZ). Returns 0, or 2 for --tz without a zone.
 */
static int parse_args(int *argc, char **argv, struct import_args *a)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--tz") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "billd import-shm: --tz needs a time zone\n");
                return 2;
            }
            a->tz = argv[++i];
        } else if (strncmp(argv[i], "--tz=", 5) == 0) {
            a->tz = argv[i] + 5;
        } else if (strcmp(argv[i], "--force") == 0) {
            a->force = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

/* The operands after --env-file was taken out: files, or one "-". */
static int collect_files(int argc, char **argv, struct import_args *a)
{
    int stdin_count = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "billd import-shm: unknown option '%s'\n\n", argv[i]);
            return 2;
        }
        stdin_count += strcmp(argv[i], "-") == 0;
    }
    if (argc < 2 || stdin_count > 1) {
        usage(stderr);
        return 2;
    }
    a->files = argv + 1;
    a->nfiles = argc - 1;
    return 0;
}

/* Progress on a terminal: one line per table, rewritten in place. */
struct progress_line {
    const char *table;
};

static void show_progress(void *ctx, const char *table, int64_t rows)
{
    struct progress_line *p = ctx;
    if (p->table && p->table != table)
        fputc('\n', stderr);
    fprintf(stderr, "\r  %-18s %lld rows", table, (long long)rows);
    fflush(stderr);
    p->table = table;
}

static int feed_files(struct shm_import *im, const struct import_args *a, struct err *e)
{
    for (int i = 0; i < a->nfiles; i++) {
        bool is_stdin = strcmp(a->files[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(a->files[i], "rb");
        if (!f)
            return err_set(e, ERR_IO, "%s: %s", a->files[i], strerror(errno));
        int rc = shm_import_feed(im, f, is_stdin ? "(stdin)" : a->files[i], e);
        if (!is_stdin)
            fclose(f);
        if (rc)
            return rc;
    }
    return 0;
}

static int run_import(struct db *db, const struct config *cfg, const struct import_args *a)
{
    struct err e = { 0 };
    struct progress_line line = { 0 };
    struct shm_import_options o = { .cfg = cfg, .force = a->force };
    struct shm_import *im = NULL;
    if (isatty(STDERR_FILENO)) {
        o.progress = show_progress;
        o.progress_ctx = &line;
    }
    int rc = shm_import_begin(db, &o, &im, &e);
    if (rc == 0)
        rc = feed_files(im, a, &e);
    if (rc == 0)
        rc = shm_import_finish(im, &e);
    if (line.table)
        fputc('\n', stderr);
    if (rc) {
        fprintf(stderr, "billd import-shm: %s\nbilld import-shm: nothing was imported (the"
                        " database is unchanged)\n", e.msg);
    } else {
        struct buf out;
        buf_init(&out, 0);
        shm_import_summary(im, &out);
        fputs(out.data, stdout);
        buf_free(&out);
    }
    shm_import_free(im);
    return rc ? 1 : 0;
}

int cmd_import_shm(int argc, char **argv)
{
    struct import_args a = { 0 };
    struct config cfg;
    struct db *db;
    struct err e = { 0 };
    int applied = 0;
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    int rc = parse_args(&argc, argv, &a);
    if (rc)
        return rc;
    if (a.tz && setenv("TZ", a.tz, 1) != 0) /* validated by the configuration below */
        return 1;
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    rc = collect_files(argc, argv, &a);
    if (rc) {
        config_free(&cfg);
        return rc;
    }
    if (db_open(cfg.database_url, &db, &e)) {
        fprintf(stderr, "billd import-shm: cannot open the database: %s\n", e.msg);
        config_free(&cfg);
        return 1;
    }
    if (migrate_run(db, &applied, &e)) {
        fprintf(stderr, "billd import-shm: cannot prepare the database: %s\n", e.msg);
        db_close(db);
        config_free(&cfg);
        return 1;
    }
    rc = run_import(db, &cfg, &a);
    db_close(db);
    config_free(&cfg);
    return rc;
}
