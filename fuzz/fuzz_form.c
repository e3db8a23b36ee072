/*
 * fuzz_form.c — libFuzzer target for form-encoded argument parsing
 * (args_parse_form in src/http/args.c): any input is parsed or refused with
 * ERR_INVALID, and every stored value is valid UTF-8 JSON text.
 */
#include "common.h"
#include "http/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    json_t *obj = json_object();
    int rc = args_parse_form((const char *)data, size, obj, &e);
    if (rc != 0 && rc != ERR_INVALID)
        abort();
    char *s = json_dumps(obj, 0);
    if (!s)
        abort();
    free(s);
    json_decref(obj);
    return 0;
}
