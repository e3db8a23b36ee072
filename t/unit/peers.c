/*
 * peers.c — see peers.h.
 */
#include "peers.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "t/lib" from the repository root, "../t/lib" from a build directory. */
static const char *lib_dir(void)
{
    return access("t/lib/HttpPeer.pm", R_OK) == 0 ? "t/lib" : "../t/lib";
}

static void exec_peer(const char *module, const char *dir, const char *portfile,
                      const char *const *args)
{
    const char *argv[32];
    char inc[64], use[64], entry[64];
    size_t n = 0;
    snprintf(inc, sizeof(inc), "-I%s", lib_dir());
    snprintf(use, sizeof(use), "-M%s", module);
    snprintf(entry, sizeof(entry), "%s::main", module);
    argv[n++] = "perl";
    argv[n++] = inc;
    argv[n++] = use;
    argv[n++] = "-e";
    argv[n++] = entry;
    argv[n++] = "--";
    argv[n++] = dir;
    argv[n++] = portfile;
    for (size_t i = 0; args && args[i] && n < ARRAY_SIZE(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execvp("perl", (char *const *)argv);
    _exit(127);
}

int peer_start(struct peer *p, const char *module, const char *const *args)
{
    char portfile[96];
    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/billd-peer-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    snprintf(portfile, sizeof(portfile), "%s/port", p->dir);
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0)
        exec_peer(module, p->dir, portfile, args);
    /* readiness: the peer writes its port file once it listens (up to 20 s) */
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &p->port) == 1;
            fclose(f);
            if (ok)
                return 0;
        }
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            fprintf(stderr, "# peer %s exited before listening\n", module);
            p->pid = 0;
            return -1;
        }
        nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
    fprintf(stderr, "# peer %s did not start\n", module);
    return -1;
}

/* The record files of p in name order: loaded into the returned array, or deleted. */
static json_t *scan(const struct peer *p, bool remove)
{
    struct dirent **names = NULL;
    json_t *out = json_array();
    int n = scandir(p->dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);
        char path[sizeof(p->dir) + sizeof(names[i]->d_name) + 1];
        snprintf(path, sizeof(path), "%s/%s", p->dir, nm);
        if (nm[0] >= '0' && nm[0] <= '9' && len > 5 && !strcmp(nm + len - 5, ".json")) {
            if (remove)
                unlink(path);
            else
                json_array_append_new(out, json_load_file(path, 0, NULL));
        }
        free(names[i]);
    }
    free(names);
    return out;
}

json_t *peer_records(const struct peer *p)
{
    return scan(p, false);
}

void peer_clear(const struct peer *p)
{
    json_decref(scan(p, true));
}

void peer_stop(struct peer *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (!p->dir[0])
        return;
    DIR *d = opendir(p->dir); /* records, the port file, TLS certificate and key */
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[sizeof(p->dir) + sizeof(de->d_name) + 1];
        snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(p->dir);
    p->dir[0] = '\0';
}
