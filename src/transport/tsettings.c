/*
 * tsettings.c — see tsettings.h.
 */
#include "tsettings.h"

#include <math.h>

const char *tset_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

bool tset_defined(const json_t *v)
{
    return v && !json_is_null(v);
}

bool tset_true(const json_t *v, bool def)
{
    if (!tset_defined(v))
        return def;
    if (json_is_string(v))
        return *json_string_value(v) && strcmp(json_string_value(v), "0");
    if (json_is_number(v))
        return json_number_value(v) != 0;
    return !json_is_false(v);
}

void tset_merge(json_t *dst, const json_t *src)
{
    if (json_is_object(src))
        json_object_update(dst, (json_t *)src);
}

long tset_seconds_ms(const json_t *v, long def, double max_s)
{
    double s = 0;
    if (json_is_number(v))
        s = json_number_value(v);
    else if (json_is_string(v))
        s = strtod(json_string_value(v), NULL);
    return isfinite(s) && s > 0 && s < max_s ? (long)(s * 1000) : def;
}

json_t *tset_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *copy = xstrndup(s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)copy[i] >= 0x80 || copy[i] == '\0')
            copy[i] = '?';
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

json_t *tset_textz(const char *s)
{
    return tset_text(s, strlen(s));
}
