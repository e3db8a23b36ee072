/*
 * test_template.c — unit tests of the template engine (src/template/).
 *
 * Most cases are rows of {template, variables as JSON, expected output}; an
 * expected value starting with '!' is a substring of the expected error
 * ("<line>:<col>: …" is checked where it matters). The expectations of the
 * language tables were checked against Template Toolkit 2.27 configured as
 * SHM configures it ({{ }}, ANYCASE, PRE_CHOMP, trimmed output). Rows where
 * billd accepts more than TT2 (postfix on literals such as [1,2].size,
 * `x - 1` without spaces, ${ expr } in strings, `uri` per RFC 3986, the SHM
 * list methods) keep billd's result. The rest covers options, every limit,
 * Perl refusal, host objects, the examples of templates.md §9, the value
 * API, the cache, cycles and threads.
 */
#include "common.h"
#include "template/tpl.h"
#include "util/buf.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

struct tcase {
    const char *tpl;
    const char *vars; /* JSON object, or NULL */
    const char *want; /* output, or "!" + error substring */
};

/* ---------------------------------------------------------------- loader */

static const struct {
    const char *name, *src;
} sources[] = {
    {"inc1", "INC[{{ a }}]"},
    {"inc2", "{{ a = 'changed' }}{{ BLOCK b2 }}B2{{ END }}"},
    {"lib", "{{ BLOCK greet }}Hi {{ who }}{{ END }}lib loaded"},
    {"broken", "ok {{ IF }}"},
    {"raw", "raw {{ not parsed }}"},
    {"wrap", "<{{ content }}|{{ title }}>"},
    {"rec", "{{ n = n + 1 }}{{ INCLUDE rec IF n < 3 }}{{ n }}"},
    {"shm_greeting", "Hello {{ user.login }} ({{ user.id }}), balance={{ user.balance }}"},
};

static int test_load(void *ud, const char *name, struct buf *src, struct err *e)
{
    UNUSED(ud);
    if (!strcmp(name, "io_error"))
        return err_set(e, ERR_IO, "database unavailable");
    for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
        if (!strcmp(sources[i].name, name))
            return buf_puts(src, sources[i].src);
    return ERR_NOT_FOUND;
}

static const struct tpl_loader loader = {test_load, NULL};

/* ---------------------------------------------------------------- rendering */

static struct tpl_value vars_from(const char *json)
{
    if (!json)
        return tpl_hash_new();
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", json, je.text);
    struct tpl_value v = tpl_value_from_json(j);
    json_decref(j);
    return v;
}

/* Renders src; returns 0 with *out owned, or the error code with *out = message. */
static int render_full(const char *src, struct tpl_value *vars, const struct tpl_options *opt,
                       const struct tpl_limits *lim, char **out)
{
    struct tpl_env env = {.vars = vars, .loader = &loader, .limits = lim};
    struct buf b;
    struct err e;
    buf_init(&b, 0);
    int rc = tpl_render_string("t", src, strlen(src), opt, &env, &b, &e);
    if (rc) {
        *out = xstrdup(e.msg);
        buf_free(&b);
    } else {
        *out = buf_detach(&b, NULL);
    }
    return rc;
}

static int render(const char *src, const char *json, const struct tpl_options *opt,
                  const struct tpl_limits *lim, char **out)
{
    struct tpl_value vars = vars_from(json);
    int rc = render_full(src, &vars, opt, lim, out);
    tpl_value_drop(&vars);
    return rc;
}

/* Checks one case; returns true when it passes (and prints why not). */
static bool check_case(const char *table, size_t i, const struct tcase *c,
                       const struct tpl_options *opt, const struct tpl_limits *lim)
{
    char *got;
    int rc = render(c->tpl, c->vars, opt, lim, &got);
    bool ok;
    if (c->want[0] == '!')
        ok = rc != 0 && strstr(got, c->want + 1) != NULL;
    else
        ok = rc == 0 && strcmp(got, c->want) == 0;
    if (!ok)
        print_error("%s[%zu]: %s\n  template: %s\n  want:     %s\n  got:      %s\n", table, i,
                    rc ? "error" : "output", c->tpl, c->want, got);
    free(got);
    return ok;
}

static void run_table(const char *name, const struct tcase *cases, size_t n,
                      const struct tpl_options *opt, const struct tpl_limits *lim)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !check_case(name, i, &cases[i], opt, lim);
    if (bad)
        fail_msg("%zu of %zu %s cases failed", bad, n, name);
}

#define RUN_TABLE(t) run_table(#t, t, ARRAY_SIZE(t), NULL, NULL)

static void assert_renders(const char *src, const char *json, const char *want)
{
    struct tcase c = {src, json, want};
    if (!check_case("assert_renders", 0, &c, NULL, NULL))
        fail();
}

static void assert_renders_opt(const char *src, const char *json, const struct tpl_options *opt,
                               const struct tpl_limits *lim, const char *want)
{
    struct tcase c = {src, json, want};
    if (!check_case("assert_renders_opt", 0, &c, opt, lim))
        fail();
}

/* chomping, comments, literals, interpolation, operators, truth */
static const struct tcase t_syntax[] = {
    {"Hello {{ name }}!", "{\"name\":\"danuk\"}", "Hello danuk!"},
    {"a\n{{ 1 }}\nb", NULL, "a1\nb"},
    {"a\n  {{ 1 }}  \nb", NULL, "a1  \nb"},
    {"a  {{ 1 }}", NULL, "a  1"},
    {"{{ 'a' }} {{ 'b' }}", NULL, "ab"},
    {"x\n\n  {{ 'y' }}", NULL, "x\ny"},
    {"a {{- 'b' }}", NULL, "a b"},
    {"a\n  {{- 'b' -}}  \n  c", NULL, "ab  c"},
    {"a\n  {{~ 'b' ~}}  \n  c", NULL, "abc"},
    {"a\n  {{= 'b' =}}  \n  c", NULL, "a b c"},
    {"a\n  {{+ 'b' +}}\nc", NULL, "a\n  b\nc"},
    {"l1\r\n  {{ 'x' }}\r\nl2", NULL, "l1x\r\nl2"},
    {"{{# a comment }}x", NULL, "x"},
    {"x {{# c -}}\n y", NULL, "x  y"},
    {"  {{# c }}\ny", NULL, "y"},
    {"{{ # inline comment\n 'v' }}", NULL, "v"},
    {"{{ a = 1 # set\n b = 2 }}{{ a }}{{ b }}", NULL, "12"},
    {"{{ x = }}{{ x }}ok", NULL, "ok"},
    {"   \n\t padded \n  ", NULL, "padded"},
    {"{{ IF 1 }}\nyes\n{{ END }}\n", NULL, "yes"},
    {"{{ FOREACH i IN [1,2,3] }}\n- {{ i }}\n{{ END }}", NULL, "- 1\n- 2\n- 3"},
    {"a{{ }}b", NULL, "ab"},
    {"{{ 'a' ; 'b' }}", NULL, "ab"},
    {"{{ 'a' }}{{ 'b' -}}\n\n{{ 'c' }}", NULL, "abc"},
    {"text {{ unclosed", NULL, "text {{ unclosed"},
    {"{{ a = 1 }}\n{{ a }}", NULL, "1"},
    {"{{ 42 }}|{{ 3.14 }}|{{ 010 }}|{{ 1.50 }}|{{ \"1.50\" }}", NULL, "42|3.14|8|1.5|1.50"},
    {"{{ 'it\\'s' }}|{{ 'a\\\\b' }}|{{ 'a\\nb' }}", NULL, "it's|a\\b|a\\nb"},
    {"{{ \"tab\\tx\" }}|{{ \"q\\\"\" }}|{{ \"d\\$x\" }}", NULL, "tab\tx|q\"|d$x"},
    {"{{ \"Hi $name!\" }}", "{\"name\":\"Bob\"}", "Hi Bob!"},
    {"{{ \"$u.name/$u.id.\" }}", "{\"u\":{\"name\":\"Bob\",\"id\":7}}", "Bob/7."},
    {"{{ \"${u.name}x ${ 1 + 2 }\" }}", "{\"u\":{\"name\":\"Bob\"}}", "Bobx 3"},
    {"{{ \"$l.0-$l.1\" }}", "{\"l\":[\"a\",\"b\"]}", "a-b"},
    {"{{ \"cost \\$5\" }}", NULL, "cost $5"},
    {"{{ [1, 2, 3].size }}", NULL, "3"},
    {"{{ x = [1 2 3]; x.join('-') }}", NULL, "1-2-3"},
    {"{{ x = [1..5]; x.join(',') }}", NULL, "1,2,3,4,5"},
    {"{{ x = [3..1]; x.size }}", NULL, "0"},
    {"{{ h = { a => 1, 'b c' = 2, d = 3 }; h.keys.sort.join(',') }}", NULL, "a,b c,d"},
    {"{{ h = { a = 1 b = 2 }; h.b }}", NULL, "2"},
    {"{{ k = 'z'; h = { $k => 1 }; h.z }}", NULL, "1"},
    {"{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 10 - 2 - 3 }}|{{ 2 * 3 div 4 }}", NULL, "7|9|5|0"},
    {"{{ 7 / 2 }}|{{ 6 / 3 }}|{{ 1 / 3 }}|{{ 10 mod 3 }}|{{ -7 mod 3 }}|{{ 7 mod -3 }}", NULL, "3.5|2|0.333333333333333|1|2|-2"},
    {"{{ 0.1 + 0.2 }}|{{ 1e3 + 0 }}", NULL, "!1:21: parse error - unexpected token 'e3'"},
    {"{{ 9999999999 * 9999999999 }}|{{ 2 * 0.5 }}", NULL, "9.999999998e+19|1"},
    {"{{ x = 5 }}{{ x - 1 }}|{{ -x }}|{{ - 2 }}", NULL, "4|-5|-2"},
    {"{{ '3' + '4' }}|{{ 'abc' + 1 }}|{{ ' 12xyz' * 2 }}|{{ undef + 1 }}", NULL, "7|1|24|1"},
    {"{{ 'a' _ 'b' _ 1 }}|{{ 'a' _ 1 + 2 }}", NULL, "ab1|2"},
    {"{{ 1 / 0 }}", NULL, "!1:6: undef error - Illegal division by zero"},
    {"{{ 5 mod 0 }}", NULL, "!1:6: undef error - Illegal modulus zero"},
    {"{{ 7.9 div 2 }}|{{ -7 div 2 }}|{{ 7.5 % 2 }}", NULL, "3|-3|1"},
    {"{{ 1 == 1 }}|{{ 1 == '1.0' }}|{{ 'a' == 'a' }}|{{ 'a' != 'b' }}|{{ 1 != 1 }}", NULL, "1||1|1|"},
    {"{{ 2 < 10 }}|{{ '2' < '10' }}|{{ 3 >= 3 }}|{{ 3 > 4 }}|{{ 'abc' < 1 }}", NULL, "1|1|1||1"},
    {"{{ x == '' }}|{{ x == 0 }}", NULL, "1|"},
    {"{{ 0 || 'd' }}|{{ 'a' || 'b' }}|{{ 1 && 'x' }}|{{ 0 && 'x' }}|{{ '' or 'o' }}|{{ 1 and 2 }}", NULL, "d|a|x|0|o|2"},
    {"{{ !0 }}|{{ !1 }}|{{ not 0 }}|{{ NOT 1 }}|{{ ! 1 == 2 }}", NULL, "1||1||"},
    {"{{ 1 ? 'y' : 'n' }}|{{ 0 ? 'y' : 'n' }}|{{ 0 ? 1 : 0 ? 2 : 3 }}", NULL, "y|n|3"},
    {"{{ IF '0.0' }}t{{ END }}|{{ IF '0' }}t{{ ELSE }}f{{ END }}|{{ IF [] }}t{{ END }}|{{ IF {} }}t{{ END }}|{{ IF ' ' }}t{{ END }}", NULL, "t|f|t|t|t"},
    {"{{ x = 0; x || 'default' }}", NULL, "default"},
};

/* variables, assignment, GET/SET/DEFAULT/CALL, postfix forms, IF/UNLESS, FOREACH and loop.*, WHILE, SWITCH */
static const struct tcase t_directives[] = {
    {"{{ user.name }}|{{ user.missing }}|{{ nope.x.y }}|{{ list.1 }}|{{ list.-1 }}", "{\"user\":{\"name\":\"A\"},\"list\":[1,2,3]}", "A|||2|3"},
    {"{{ h.$k }}|{{ h.${'b'} }}", "{\"h\":{\"a\":1,\"b\":2},\"k\":\"a\"}", "1|2"},
    {"{{ _priv }}|{{ h._x }}|{{ h.y }}", "{\"_priv\":1,\"h\":{\"_x\":1,\"y\":2}}", "||2"},
    {"{{ h.size }}|{{ h.keys.sort.join(',') }}", "{\"h\":{\"size\":\"mine\",\"a\":1}}", "mine|a,size"},
    {"{{ l.size }}|{{ l.first }}|{{ l.last }}|{{ l.max }}", "{\"l\":[5,6,7]}", "3|5|7|2"},
    {"{{ a.b.c = 5 }}{{ a.b.c }}|{{ a.b.size }}", NULL, "5|1"},
    {"{{ l = [1,2]; l.3 = 'x'; l.size }}|{{ l.join(',') }}", NULL, "4|1,2,,x"},
    {"{{ x = {}; x.y = 1; x.z = x.y + 1; x.z }}", NULL, "2"},
    {"{{ x = 'str'; x.length }}|{{ 'abc'.length }}|{{ 12345.length }}", NULL, "3|3|5"},
    {"{{ s.length }}", "{\"s\":\"Привет\"}", "6"},
    {"{{ t.defined }}|{{ u.defined }}|{{ z.defined ? 'y' : 'n' }}", "{\"t\":\"\",\"u\":null}", "1||n"},
    {"{{ b1 }}|{{ b2 }}|{{ IF b2 }}t{{ ELSE }}f{{ END }}|{{ n }}|{{ f }}", "{\"b1\":true,\"b2\":false,\"n\":null,\"f\":1.5}", "1|0|f||1.5"},
    {"{{ big }}|{{ neg }}|{{ r }}", "{\"big\":12345678901234,\"neg\":-177.06,\"r\":1035.01}", "12345678901234|-177.06|1035.01"},
    {"{{ SET a = 1, b = 2 }}{{ a }}{{ b }}", NULL, "12"},
    {"{{ a = 1 b = 2 c = a + b }}{{ c }}", NULL, "3"},
    {"{{ DEFAULT a = 5 }}{{ a }}|{{ b = 0; DEFAULT b = 7 }}{{ b }}|{{ c = 3; DEFAULT c = 9 }}{{ c }}", NULL, "5|7|3"},
    {"{{ GET 'x' }}|{{ CALL 'y' }}|{{ CALL l.push(3) }}{{ l.size }}", "{\"l\":[1]}", "x||2"},
    {"{{ x = 1 IF 0 }}{{ x }}|{{ y = 1 UNLESS 0 }}{{ y }}", NULL, "|1"},
    {"{{ 'k' IF 1 }}|{{ 'k' IF 0 }}|{{ 'u' UNLESS 0 }}", NULL, "k||u"},
    {"{{ i FOREACH i IN [1,2,3] }}", NULL, "123"},
    {"{{ n = 0 }}{{ n = n + 1 WHILE n < 5 }}{{ n }}", NULL, "5"},
    {"{{ 'ab' | upper }}|{{ 'AB' FILTER lower }}|{{ 'a b' | upper | repeat(2) }}", NULL, "AB|ab|A BA B"},
    {"{{ x = 'q' | upper; x }}|{{ y = 3 | repeat(2) }}{{ y }}", NULL, "Q|33"},
    {"{{ \"a\" _ \"b\" | upper }}", NULL, "AB"},
    {"{{ IF a }}A{{ ELSIF b }}B{{ ELSIF c }}C{{ ELSE }}D{{ END }}", "{\"c\":1}", "C"},
    {"{{ IF a }}A{{ ELSIF b }}B{{ END }}", "{\"b\":1}", "B"},
    {"{{ UNLESS a }}not a{{ ELSE }}a{{ END }}", "{\"a\":0}", "not a"},
    {"{{ if 1 }}lower{{ end }}|{{ If 0 }}x{{ Else }}y{{ End }}", NULL, "lower|y"},
    {"{{ IF a > 1 && b }}yes{{ END }}", "{\"a\":2,\"b\":1}", "yes"},
    {"{{ IF 1; 'one'; ELSE; 'two'; END }}", NULL, "one"},
    {"{{ FOREACH x IN l }}{{ loop.index }}:{{ x }}{{ loop.last ? '' : ',' }}{{ END }}", "{\"l\":[\"a\",\"b\",\"c\"]}", "0:a,1:b,2:c"},
    {"{{ FOR x = l }}[{{ loop.count }}/{{ loop.size }} f{{ loop.first }} l{{ loop.last }} {{ loop.parity }} o{{ loop.odd }} e{{ loop.even }} p{{ loop.prev }} n{{ loop.next }} m{{ loop.max }} #{{ loop.number }}]{{ END }}", "{\"l\":[\"a\",\"b\",\"c\"]}", "[1/3 f1 l0odd o1 e0 p nb m2 #1][2/3 f0 l0even o0 e1 pa nc m2 #2][3/3 f0 l1odd o1 e0 pb n m2 #3]"},
    {"{{ FOREACH p IN h }}{{ p.key }}={{ p.value }};{{ END }}", "{\"h\":{\"b\":2,\"a\":1,\"c\":3}}", "a=1;b=2;c=3;"},
    {"{{ FOREACH x IN 'scalar' }}<{{ x }}>{{ END }}|{{ FOREACH x IN undefined }}no{{ END }}|{{ FOREACH x IN 0 }}zero{{ END }}", NULL, "<scalar>||"},
    {"{{ FOREACH x IN [1,2,3,4,5] }}{{ NEXT IF x == 2 }}{{ LAST IF x == 4 }}{{ x }}{{ END }}", NULL, "13"},
    {"{{ FOREACH users }}{{ name }},{{ END }}|{{ name }}", "{\"users\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "a,b,|"},
    {"{{ FOREACH i IN [1,2] }}{{ FOREACH j IN [3,4] }}{{ i }}{{ j }}({{ loop.index }}) {{ END }}{{ loop.index }};{{ END }}", NULL, "13(0) 14(1) 0;23(0) 24(1) 1;"},
    {"{{ FOREACH x IN [1,2] }}{{ END }}{{ x }}|{{ loop }}", NULL, "2|"},
    {"{{ FOREACH x IN l }}{{ l.push(9) IF loop.first }}{{ x }}{{ END }}", "{\"l\":[1,2]}", "12"},
    {"{{ i = 0 }}{{ WHILE i < 3 }}{{ i }}{{ i = i + 1 }}{{ END }}", NULL, "012"},
    {"{{ i = 0 }}{{ WHILE 1 }}{{ i = i + 1 }}{{ LAST IF i > 3 }}{{ END }}{{ i }}", NULL, "4"},
    {"{{ WHILE 1 }}x{{ END }}", NULL, "!1:4: WHILE loop terminated (> 1000 iterations)"},
    {"{{ i = 0 }}{{ WHILE i < 998 }}{{ i = i + 1 }}{{ END }}{{ i }}", NULL, "998"},
    {"{{ i = 0 }}{{ WHILE i < 999 }}{{ i = i + 1 }}{{ END }}{{ i }}", NULL, "!1:15: WHILE loop terminated (> 1000 iterations)"},
    {"{{ SWITCH x }}{{ CASE 'a' }}A{{ CASE ['b','c'] }}BC{{ CASE }}D{{ END }}", "{\"x\":\"c\"}", "BC"},
    {"{{ SWITCH x }}{{ CASE 'a' }}A{{ CASE DEFAULT }}D{{ END }}", "{\"x\":\"z\"}", "D"},
    {"{{ SWITCH x }}ignored{{ CASE 1 }}one{{ CASE 1 }}again{{ END }}", "{\"x\":1}", "one"},
    {"{{ SWITCH x }}{{ CASE 'a' }}A{{ END }}|", "{\"x\":\"q\"}", "|"},
    {"{{ switch 'b' }}{{ case 'a' }}A{{ case 'b' }}B{{ end }}", NULL, "B"},
};

/* BLOCK, INCLUDE/PROCESS scoping, INSERT, WRAPPER, MACRO, FILTER blocks, captures, RETURN/STOP/CLEAR, TRY/CATCH/FINAL/THROW */
static const struct tcase t_blocks[] = {
    {"{{ BLOCK hello }}Hello {{ name }}{{ END }}{{ INCLUDE hello name = 'W' }}|{{ PROCESS hello }}", "{\"name\":\"N\"}", "Hello W|Hello N"},
    {"{{ INCLUDE b }}{{ BLOCK b }}defined later{{ END }}", NULL, "defined later"},
    {"{{ BLOCK b }}{{ x = 2 }}{{ END }}{{ x = 1 }}{{ INCLUDE b }}{{ x }}|{{ PROCESS b }}{{ x }}", NULL, "1|2"},
    {"{{ BLOCK b }}{{ h.v = 2 }}{{ END }}{{ h = {v=>1} }}{{ INCLUDE b }}{{ h.v }}", NULL, "2"},
    {"{{ INCLUDE inc1 a = 5 }}|{{ a }}", NULL, "INC[5]|"},
    {"{{ a = 'orig' }}{{ INCLUDE inc2 }}{{ a }}|{{ PROCESS inc2 }}{{ a }}|{{ INCLUDE b2 }}", NULL, "orig|changed|B2"},
    {"{{ INCLUDE missing }}", NULL, "!1:4: file error - missing: not found"},
    {"{{ TRY }}{{ INCLUDE missing }}{{ CATCH file }}caught: {{ error.info }}{{ END }}", NULL, "caught: missing: not found"},
    {"{{ n = 'inc1' }}{{ INCLUDE $n a = 1 }}|{{ INCLUDE \"inc$x\" a = 2 }}", "{\"x\":1}", "INC[1]|INC[2]"},
    {"{{ BLOCK outer }}O{{ BLOCK inner }}I{{ END }}{{ END }}{{ INCLUDE outer }}{{ INCLUDE outer/inner }}", NULL, "OI"},
    {"{{ BLOCK w }}<{{ content }}>{{ END }}{{ WRAPPER w }}inside{{ END }}", NULL, "<inside>"},
    {"{{ BLOCK r }}a{{ RETURN }}b{{ END }}{{ INCLUDE r }}c", NULL, "ac"},
    {"x{{ STOP }}y", NULL, "x"},
    {"{{ BLOCK s }}in{{ STOP }}no{{ END }}a{{ INCLUDE s }}b", NULL, "ain"},
    {"a{{ CLEAR }}b", NULL, "b"},
    {"{{ MACRO hi(n) BLOCK }}Hi {{ n }}!{{ END }}{{ hi('Bob') }} {{ hi('Al') }}", NULL, "Hi Bob!Hi Al!"},
    {"{{ MACRO add(a, b) GET a + b }}{{ add(2, 3) }}", NULL, "5"},
    {"{{ MACRO m(x) BLOCK }}[{{ x }}|{{ y }}]{{ END }}{{ m(1, y = 2) }}|{{ m }}", NULL, "[1|2]|[|]"},
    {"{{ MACRO m BLOCK }}{{ z = 5 }}{{ END }}{{ m }}{{ z }}", NULL, ""},
    {"{{ MACRO f(n) IF n > 0 }}{{ n }}{{ f(n - 1) }}{{ END }}{{ f(3) }}", NULL, "321"},
    {"{{ FILTER upper }}shout {{ 'x' }}{{ END }}", NULL, "SHOUT X"},
    {"{{ FILTER repeat(2) }}ab{{ END }}|{{ FILTER replace('a', 'o') }}banana{{ END }}", NULL, "abab|bonono"},
    {"{{ x = BLOCK }}captured {{ 1 + 1 }}{{ END }}[{{ x }}]", NULL, "[captured 2]"},
    {"{{ y = IF 1 }}yes{{ ELSE }}no{{ END }}[{{ y }}]", NULL, "[yes]"},
    {"{{ z = INCLUDE inc1 a = 'q' }}[{{ z }}]", NULL, "[INC[q]]"},
    {"{{ f = FOREACH i IN [1,2] }}{{ i }}{{ END }}[{{ f }}]", NULL, "[12]"},
    {"{{ TRY }}a{{ THROW oops 'bad' }}b{{ CATCH oops }}[{{ error.type }}:{{ error.info }}]{{ END }}", NULL, "a[oops:bad]"},
    {"{{ TRY }}{{ THROW food.cheese 'x' }}{{ CATCH food }}food:{{ e.type }}{{ CATCH }}any{{ END }}", NULL, "food:food.cheese"},
    {"{{ TRY }}{{ THROW other 'x' }}{{ CATCH food }}food{{ CATCH }}any:{{ error }}{{ END }}", NULL, "any:other error - x"},
    {"{{ TRY }}{{ THROW x 'y' }}{{ CATCH z }}z{{ FINAL }}final{{ END }}", NULL, "!1:13: x error - y"},
    {"{{ TRY }}ok{{ CATCH }}c{{ FINAL }}+f{{ END }}", NULL, "ok+f"},
    {"{{ TRY }}{{ 1 / 0 }}{{ CATCH }}{{ error.type }}{{ END }}", NULL, "undef"},
    {"{{ THROW mytype 'my info' }}", NULL, "!1:4: mytype error - my info"},
    {"{{ THROW mytype }}", NULL, "!1:4: mytype error - "},
    {"{{ TRY }}{{ TRY }}{{ THROW a 'in' }}{{ CATCH b }}b{{ END }}{{ CATCH a }}outer {{ error.info }}{{ END }}", NULL, "outer in"},
    {"{{ TRY }}{{ THROW a 'x' }}{{ CATCH a }}{{ THROW b 'y' }}{{ END }}", NULL, "!1:43: b error - y"},
    {"{{ TRY }}x{{ nosuch | nofilter }}{{ CATCH }}[{{ error.type }}]{{ END }}", NULL, "x[undef]"},
    {"{{ x | nofilter }}", NULL, "!1:6: undef error - nofilter: filter not found"},
    {"{{ TRY }}{{ STOP }}{{ FINAL }}f{{ END }}after", NULL, ""},
    {"{{ FOREACH i IN [1,2,3] }}{{ TRY }}{{ NEXT IF i == 2 }}{{ i }}{{ CATCH }}c{{ END }}{{ END }}", NULL, "13"},
};

/* virtual methods of scalars, hashes and lists (templates.md 4) */
static const struct tcase t_vmethods[] = {
    {"{{ s.upper }}|{{ s.lower }}|{{ s.ucfirst }}|{{ s.lcfirst }}|{{ 'ABC'.lcfirst }}", "{\"s\":\"hello World\"}", "HELLO WORLD|hello world|Hello World|hello World|aBC"},
    {"{{ s.upper }}|{{ s.length }}|{{ s.ucfirst }}", "{\"s\":\"привет мир\"}", "ПРИВЕТ МИР|10|Привет мир"},
    {"[{{ s.trim }}]|[{{ s.collapse }}]", "{\"s\":\"  a  b \\n c  \"}", "[a  b \n c]|[a b c]"},
    {"{{ s.repeat(3) }}|{{ s.repeat(0) }}|[{{ s.repeat }}]", "{\"s\":\"ab\"}", "ababab||[]"},
    {"{{ s.replace('o', '0') }}|{{ s.replace('(\\\\w+) (\\\\w+)', '$2 $1') }}|{{ s.replace('o', 'O', 0) }}", "{\"s\":\"foo boo\"}", "f00 b00|boo foo|fOo boo"},
    {"{{ s.remove('\\\\d+') }}|{{ h.remove('.*@') }}", "{\"s\":\"a1b22c\",\"h\":\"root@host1\"}", "abc|host1"},
    {"{{ s.match('(\\\\d+)-(\\\\d+)').join(',') }}|{{ s.match('x') ? 'y' : 'n' }}|{{ s.match('\\\\d').0 }}", "{\"s\":\"10-20\"}", "10,20|n|1"},
    {"{{ s.match('(\\\\d+)', 1).join(',') }}|{{ s.match('\\\\d', 1).size }}", "{\"s\":\"a1b22c333\"}", "1,22,333|6"},
    {"{{ s.search('b+') }}|{{ s.search('^b') ? 'y' : 'n' }}", "{\"s\":\"abbc\"}", "1|n"},
    {"{{ s.split(',').join('|') }}|{{ s.split(',').size }}", "{\"s\":\"a,b,,c,,\"}", "a|b||c|4"},
    {"{{ s.split.join('|') }}", "{\"s\":\"  a b\\tc  \"}", "a|b|c"},
    {"{{ s.split('').join('|') }}|{{ s.split('(,)').join('|') }}|{{ s.split(',', 2).join('|') }}", "{\"s\":\"a,b,c\"}", "a|,|b|,|c|a|,|b|,|c|a|b,c"},
    {"{{ s.split(',').join('|') }}", "{\"s\":\",a,b\"}", "|a|b"},
    {"{{ s.chunk(2).join('|') }}|{{ s.chunk(-2).join('|') }}|{{ s.chunk.size }}", "{\"s\":\"abcde\"}", "ab|cd|e|a|bc|de|5"},
    {"{{ s.substr(1, 3) }}|{{ s.substr(-2) }}|{{ s.substr(2) }}|{{ s.substr(1, -1) }}|{{ s.substr(0, 2, 'XY') }}", "{\"s\":\"abcdef\"}", "bcd|ef|cdef|bcde|XYcdef"},
    {"{{ s.squote }}|{{ s.dquote }}", "{\"s\":\"it's \\\"q\\\" \\\\ x\\ny\"}", "it\\'s \"q\" \\\\ x\ny|it's \\\"q\\\" \\\\ x\\ny"},
    {"{{ s.list.size }}|{{ s.hash.value }}|{{ s.item }}|{{ s.size }}|{{ s.defined }}", "{\"s\":\"v\"}", "1|v|v|1|1"},
    {"{{ s.join('-') }}|{{ s.first }}|{{ s.sort.0 }}", "{\"s\":\"v\"}", "v|v|v"},
    {"{{ s.html }}|{{ s.xml }}", "{\"s\":\"<a href=\\\"x\\\">&'</a>\"}", "&lt;a href=&quot;x&quot;&gt;&amp;'&lt;/a&gt;|&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"},
    {"{{ n.length }}|{{ n.repeat(2) }}", "{\"n\":123}", "3|123123"},
    {"{{ h.keys.sort.join(',') }}|{{ h.values.nsort.join(',') }}|{{ h.size }}", "{\"h\":{\"b\":2,\"a\":1,\"c\":3}}", "a,b,c|1,2,3|3"},
    {"{{ FOREACH p IN h.pairs }}{{ p.key }}{{ p.value }}{{ END }}|{{ h.list.0.key }}", "{\"h\":{\"b\":2,\"a\":1}}", "a1b2|a"},
    {"{{ h.sort.join(',') }}|{{ h.nsort.join(',') }}", "{\"h\":{\"x\":\"b\",\"y\":\"A\",\"z\":\"c\"}}", "y,x,z|x,y,z"},
    {"{{ h.nsort.join(',') }}", "{\"h\":{\"x\":10,\"y\":9,\"z\":100}}", "y,x,z"},
    {"{{ h.exists('a') }}|{{ h.exists('z') ? 'y' : 'n' }}|{{ h.defined('n') ? 'y' : 'n' }}|{{ h.defined('a') }}|{{ h.defined }}", "{\"h\":{\"a\":1,\"n\":null}}", "1|n|n|1|1"},
    {"{{ h.delete('a') }}{{ h.keys.join(',') }}|{{ h.import({ c => 3 }) }}{{ h.keys.sort.join(',') }}", "{\"h\":{\"a\":1,\"b\":2}}", "b|b,c"},
    {"{{ h.item('a') }}|{{ h.item('_p') }}|{{ h.items.size }}|{{ h.each.size }}", "{\"h\":{\"a\":1,\"_p\":2}}", "1|2|4|4"},
    {"{{ h.empty }}|{{ e.empty }}|{{ h.hash.a }}", "{\"h\":{\"a\":1},\"e\":{}}", "0|1|1"},
    {"{{ l.first }}|{{ l.last }}|{{ l.first(2).join(',') }}|{{ l.last(2).join(',') }}|{{ l.size }}|{{ l.max }}", "{\"l\":[1,2,3,4]}", "1|4|1,2|3,4|4|3"},
    {"{{ l.join }}|{{ l.join(', ') }}|{{ l.reverse.join('') }}", "{\"l\":[\"a\",\"b\",\"c\"]}", "a b c|a, b, c|cba"},
    {"{{ l.grep('^v').join(',') }}|{{ l.grep('x').size }}|{{ l.grep('^vless:').first }}", "{\"l\":[\"vless:a\",\"vmess:b\",\"trojan:c\"]}", "vless:a,vmess:b|0|vless:a"},
    {"{{ l.sort.join(',') }}|{{ l.nsort.join(',') }}", "{\"l\":[\"b\",\"C\",\"a\",10,9]}", "10,9,a,b,C|b,C,a,9,10"},
    {"{{ l.nsort.join(',') }}|{{ l.sort.join(',') }}", "{\"l\":[10,2,33,4]}", "2,4,10,33|10,2,33,4"},
    {"{{ l.sort('n').pluck('n').join(',') }}|{{ l.nsort('v').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":1}]}", "a,b,c|c,b,a"},
    {"{{ l.unique.join(',') }}", "{\"l\":[1,2,1,3,2]}", "1,2,3"},
    {"{{ l.push(4) }}{{ l.join(',') }}|{{ l.pop }}|{{ l.shift }}|{{ l.unshift(0) }}{{ l.join(',') }}", "{\"l\":[1,2,3]}", "1,2,3,4|4|1|0,2,3"},
    {"{{ l.push(4, 5) }}{{ l.size }}", "{\"l\":[1]}", "3"},
    {"{{ l.merge([4], [5,6]).join(',') }}|{{ l.size }}|{{ CALL l.import([9]) }}{{ l.size }}", "{\"l\":[1,2,3]}", "1,2,3,4,5,6|3|4"},
    {"{{ l.slice(1, 2).join(',') }}|{{ l.slice(-2).join(',') }}|{{ l.slice(1).join(',') }}", "{\"l\":[1,2,3,4]}", "2,3|3,4|2,3,4"},
    {"{{ l.splice(1, 2).join(',') }}|{{ l.join(',') }}", "{\"l\":[1,2,3,4]}", "2,3|1,4"},
    {"{{ l.splice(1, 1, 'x', 'y').join(',') }}|{{ l.join(',') }}", "{\"l\":[1,2,3,4]}", "2|1,x,y,3,4"},
    {"{{ CALL l.splice(1, 0, ['a','b']) }}{{ l.join(',') }}", "{\"l\":[1,2]}", "1,a,b,2"},
    {"{{ l.item(1) }}|{{ l.item(-1) }}|{{ l.item }}|{{ l.list.size }}", "{\"l\":[\"a\",\"b\",\"c\"]}", "b|c|a|3"},
    {"{{ l.hash.a }}|{{ l.hash.c }}|{{ l.hash(1).2 }}", "{\"l\":[\"a\",\"b\",\"c\",\"d\"]}", "b|d|b"},
    {"{{ l.defined(1) ? 'y':'n' }}|{{ l.defined(0) ? 'y':'n' }}|{{ l.defined(5) ? 'y':'n' }}|{{ l.defined }}", "{\"l\":[null, 1]}", "y|n|n|1"},
    {"{{ l.empty }}|{{ e.empty }}", "{\"l\":[1],\"e\":[]}", "0|1"},
    {"{{ l.first(5).size }}|{{ l.last(5).size }}", "{\"l\":[1,2]}", "5|5"},
};

/* filters (templates.md 5) */
static const struct tcase t_filters[] = {
    {"{{ s | html }}|{{ s | xml }}", "{\"s\":\"<b>\\\"A&B\\\"</b> 'q'\"}", "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt; 'q'|&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt; &apos;q&apos;"},
    {"{{ s | uri }}", "{\"s\":\"a b&c=d/é~_.-!*()'\"}", "a%20b%26c%3Dd%2F%C3%A9~_.-%21%2A%28%29%27"},
    {"{{ s | upper }}|{{ s | lower }}|{{ s | ucfirst }}|{{ s | lcfirst }}", "{\"s\":\"hELLO\"}", "HELLO|hello|HELLO|hELLO"},
    {"[{{ s | trim }}]|[{{ s | collapse }}]", "{\"s\":\"  a \\n\\n b  \"}", "[a \n\n b]|[a b]"},
    {"{{ s | truncate(5) }}|{{ s | truncate(5, '~') }}|{{ s | truncate(20) }}|{{ s | truncate }}|{{ s | truncate(2) }}", "{\"s\":\"Hello wonderful world\"}", "He...|Hell~|Hello wonderful w...|Hello wonderful world|.."},
    {"{{ s | truncate(4) }}", "{\"s\":\"Привет\"}", "П..."},
    {"{{ s | repeat(3) }}|[{{ s | repeat(0) }}]|{{ s | repeat }}", "{\"s\":\"ab\"}", "ababab|[]|ab"},
    {"{{ s | remove('a') }}|{{ s | replace('a', 'o') }}|{{ s | replace('(a)', '[$1]') }}", "{\"s\":\"banana\"}", "bnn|bonono|b[$1]n[$1]n[$1]"},
    {"{{ 3.14159 | format('%.2f') }}|{{ 42 | format('%05d') }}|{{ 'x' | format('[%5s]') }}|{{ 'x' | format('[%-5s]') }}|{{ 255 | format('%x') }}|{{ 300 | format('%d rub') }}", NULL, "3.14|00042|[    x]|[x    ]|ff|300 rub"},
    {"{{ s | format('<%s>') }}", "{\"s\":\"a\\nb\\n\"}", "<a>\n<b>"},
    {"{{ 1.005 | format('%.2f') }}|{{ '12abc' | format('%d') }}|{{ 65 | format('%c') }}|{{ 5 | format('%%%d%%') }}|{{ 1234567.891 | format('%.3e') }}", NULL, "1.00|12|A|%5%|1.235e+06"},
    {"{{ s | indent }}|{{ s | indent(2) }}|{{ s | indent('> ') }}", "{\"s\":\"a\\nb\\n\"}", "a\n    b\n|  a\n  b\n|> a\n> b"},
    {"[{{ 'x' | null }}]", NULL, "[]"},
    {"{{ s | html_para }}", "{\"s\":\"p1 line\\n\\np2\\n\\n\\np3\"}", "<p>\np1 line\n</p>\n\n<p>\np2\n</p>\n\n<p>\np3</p>"},
    {"{{ s | html_break }}|{{ s | html_para_break }}", "{\"s\":\"a\\n\\nb\"}", "a\n<br />\n<br />\nb|a\n<br />\n<br />\nb"},
    {"{{ s | html_line_break }}", "{\"s\":\"a\\nb\\r\\nc\"}", "a<br />\nb<br />\r\nc"},
    {"{{ s | html_entity }}", "{\"s\":\"<é> & ü\"}", "&lt;&eacute;&gt; &amp; &uuml;"},
    {"{{ 'x' | eval }}|{{ '{{ 1 + 2 }}' | eval }}|{{ t | evaltt }}", "{\"t\":\"{{ name }}!\",\"name\":\"N\"}", "!1:21: parse error - unterminated string"},
    {"{{ FILTER html }}<{{ '&' }}>{{ END }}", NULL, "&lt;&amp;&gt;"},
    {"{{ FILTER format('%3s') }}a\nbb{{ END }}", NULL, "a\n bb"},
    {"{{ s | upper | truncate(3, '') }}", "{\"s\":\"abcdef\"}", "ABC"},
    {"{{ l | join }}", "{\"l\":[1,2]}", "!1:6: undef error - join: filter not found"},
};

/* parse errors with line:col, Perl refused, runtime errors */
static const struct tcase t_errors[] = {
    {"{{ IF }}", NULL, "!1:7: parse error - unexpected end of directive"},
    {"line1\n  {{ x = (1 + }}", NULL, "!2:15: parse error - unexpected end of directive"},
    {"{{ IF 1 }}abc", NULL, "!1:14: parse error - missing END for IF at 1:4"},
    {"{{ FOREACH x IN l }}\n{{ END", NULL, "!2:7: parse error - missing END for FOR at 1:4"},
    {"{{ END }}", NULL, "!1:4: parse error - unexpected END"},
    {"{{ FOREACH x IN [1] }}{{ ELSE }}{{ END }}", NULL, "!1:26: parse error - unexpected token 'ELSE'"},
    {"{{ \"unterminated }}", NULL, "!1:4: parse error - unterminated string"},
    {"{{ a.b( }}", NULL, "!1:9: parse error - unexpected end of directive"},
    {"{{ 1 +* 2 }}", NULL, "!1:7: parse error - unexpected token '*'"},
    {"{{ {a => } }}", NULL, "!1:10: parse error - unexpected token '}'"},
    {"{{ 'a' 'b' }}", NULL, "!1:8: parse error - unexpected string 'b'"},
    {"{{ 010 + 09 }}", NULL, "!1:10: parse error - illegal octal digit in '09'"},
    {"{{ CATCH }}", NULL, "!1:4: parse error - unexpected CATCH"},
    {"{{ x = 1 ^ 2 }}", NULL, "!1:10: parse error - unexpected character '^'"},
    {"{{ SWITCH x }}{{ CASE 1 }}", NULL, "!1:27: parse error - missing END for SWITCH at 1:4"},
    {"{{ TRY }}x", NULL, "!1:11: parse error - missing END for TRY at 1:4"},
    {"{{ MACRO }}", NULL, "!1:10: parse error - unexpected end of directive"},
    {"{{ MACRO m BLOCK x }}{{ END }}", NULL, "!1:4: parse error - a MACRO body cannot define a named BLOCK"},
    {"{{ INCLUDE }}", NULL, "!1:12: parse error - unexpected end of directive"},
    {"{{ x.y = }}z", NULL, "z"},
    {"{{ [1, 2 }}", NULL, "!1:10: parse error - unexpected end of directive"},
    {"{{ 'é' }}\n\tпривет {{ \"x\n }}", NULL, "!2:12: parse error - unterminated string"},
    {"a\n{{ PERL }}print 1;{{ END }}", NULL, "!2:4: parse error - Perl blocks are not supported (line 2)"},
    {"{{ RAWPERL }}x{{ END }}", NULL, "!1:4: parse error - Perl blocks are not supported (line 1)"},
    {"{{ perl }}x{{ end }}", NULL, "!1:4: parse error - Perl blocks are not supported (line 1)"},
    {"{{ x | perl }}", NULL, "!1:8: parse error - Perl blocks are not supported (line 1)"},
    {"{{ x | evalperl }}", NULL, "!1:8: parse error - Perl blocks are not supported (line 1)"},
    {"{{ FILTER perl }}x{{ END }}", NULL, "!1:11: parse error - Perl blocks are not supported (line 1)"},
    {"{{ USE Date }}", NULL, "!1:4: parse error - USE is not supported"},
    {"{{ META title = 'x' }}", NULL, ""},
    {"ok\n\n   {{ x = 1 / 0 }}", NULL, "!3:13: undef error - Illegal division by zero"},
    {"{{ 5 div 0 }}", NULL, "!1:6: undef error - Illegal division by zero"},
    {"{{ y = 3 }}{{ y.z = 1 }}", NULL, ""},
    {"{{ NEXT }}", NULL, ""},
    {"{{ LAST }}", NULL, ""},
    {"{{ x | nofilter }}", NULL, "!1:6: undef error - nofilter: filter not found"},
    {"{{ 'abc'.match('(') }}", NULL, "!1:16: undef error - invalid regex '(': Unmatched ( or \\("},
    {"{{ 'abc'.replace('(a)\\\\1', 'x') }}", NULL, "!1:28: undef error - invalid regex '(a)\\1': back-references are not supported"},
    {"{{ 'abc'.search('(?=a)') }}", NULL, "!1:17: undef error - invalid regex '(?=a)': look-around and inline flags are not supported"},
    {"{{ INCLUDE missing }}", NULL, "!1:4: file error - missing: not found"},
    {"{{ THROW custom 'boom' }}", NULL, "!1:4: custom error - boom"},
    {"{{ l = [1]; l.-5 = 2 }}", NULL, ""},
    {"{{ [1..2000000].size }}", NULL, "!1:4: range larger than the iteration limit (1000000)"},
    {"{{ WHILE 1 }}x{{ END }}", NULL, "!1:4: WHILE loop terminated (> 1000 iterations)"},
    {"{{ MACRO f(n) BLOCK }}{{ f(n + 1) }}{{ END }}{{ f(1) }}", NULL, "!1:26: include depth limit exceeded (40)"},
    {"{{ BLOCK b }}{{ INCLUDE b }}{{ END }}{{ INCLUDE b }}", NULL, "!1:17: include depth limit exceeded (40)"},
};

/* SHM list methods, json, shell, regex translation, numbers, nesting */
static const struct tcase t_misc[] = {
    {"{{ l.sort_by_key('v').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "d,b,c,a"},
    {"{{ l.sort_by_key('v', 'desc').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "a,b,c,d"},
    {"{{ l.sort_by_key('v', 'asc', 'd', 'desc').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "d,b,c,a"},
    {"{{ l.sort_by_key('d').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "a,c,b,d"},
    {"{{ l.sort_by_key('n', 'DESC').0.n }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "d"},
    {"{{ l.pluck('d').join(',') }}|{{ l.pluck('v').size }}|{{ l.pluck('zz').size }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "2020,,2019,2021|4|4"},
    {"{{ FOR i IN l.sort_by_key('v') }}{{ i.n }}{{ END }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "dbca"},
    {"{{ l.nsort('v').pluck('n').join(',') }}|{{ l.sort('n').pluck('n').join(',') }}", "{\"l\":[{\"n\":\"b\",\"v\":2,\"d\":\"2020\"},{\"n\":\"a\",\"v\":10},{\"n\":\"c\",\"v\":2,\"d\":\"2019\"},{\"n\":\"d\",\"v\":1,\"d\":\"2021\"}]}", "d,b,c,a|a,b,c,d"},
    {"{{ h.json }}|{{ l.json }}|{{ s.json }}|{{ n.json }}|{{ h | json }}", "{\"h\":{\"b\":[1,2.5,null,true],\"a\":\"x\\\"y\"},\"l\":[1,\"2\"],\"s\":\"Привет \\\"q\\\"\\n\",\"n\":12}", "{\"a\":\"x\\\"y\",\"b\":[1,2.5,null,true]}|[1,\"2\"]|\"Привет \\\"q\\\"\\n\"|12|{\"a\":\"x\\\"y\",\"b\":[1,2.5,null,true]}"},
    {"echo {{ s | shell }} and {{ e | shell }} and {{ q | shell }}", "{\"s\":\"a b\",\"e\":\"\",\"q\":\"it's $(rm -rf /)\"}", "echo 'a b' and '' and 'it'\\''s $(rm -rf /)'"},
    {"{{ 'a' | shell | upper }}", NULL, "'A'"},
    {"{{ x = 0.1 * 3 }}{{ x }}|{{ 1e15 + 0 }}|{{ 100000 * 100000 }}|{{ 2 ** 2 }}", NULL, "!1:30: parse error - unexpected token 'e15'"},
    {"{{ 1 / 3 * 3 }}|{{ 10 / 4 }}|{{ -0.5 + 0 }}|{{ 300 }}", NULL, "1|2.5|-0.5|300"},
    {"{{ a = 'x'; b = a; b = 'y'; a }}|{{ h = {v => 1}; g = h; g.v = 2; h.v }}", NULL, "x|2"},
    {"{{ l = []; l.0 = 'a'; l.2 = 'c'; l.size }}|{{ l.defined(1) ? 'd' : 'u' }}", NULL, "3|u"},
    {"{{ h.a.b.c }}|{{ h.a.b.c = 1 }}{{ h.a.b.c }}", "{\"h\":{}}", "|1"},
    {"{{ x = l.0.name }}{{ x }}|{{ l.1.name = 'B' }}{{ l.1.name }}", "{\"l\":[{\"name\":\"A\"},{}]}", "A|B"},
    {"{{ 'Total: ' _ (a + b) }}", "{\"a\":1,\"b\":2}", "Total: 3"},
    {"{{ (x = 5) }}|{{ x }}", NULL, "5|5"},
    {"{{ l.${i} }}|{{ l.$i }}", "{\"l\":[\"a\",\"b\"],\"i\":1}", "b|b"},
    {"{{ \"${l.1}:$l.0\" }}", "{\"l\":[\"a\",\"b\"]}", "b:a"},
    {"{{ FOREACH k IN h.keys.sort }}{{ k }}={{ h.$k }};{{ END }}", "{\"h\":{\"b\":2,\"a\":1}}", "a=1;b=2;"},
    {"{{ FOREACH item IN items }}{{ item.name }}{{ ', ' UNLESS loop.last }}{{ END }}", "{\"items\":[{\"name\":\"x\"},{\"name\":\"y\"},{\"name\":\"z\"}]}", "x, y, z"},
    {"{{ total = 0 }}{{ FOREACH i IN [1..10] }}{{ total = total + i }}{{ END }}{{ total }}", NULL, "55"},
    {"{{ s = '' }}{{ FOREACH i IN [1..5] }}{{ s = s _ i }}{{ END }}{{ s }}", NULL, "12345"},
    {"{{ IF user.balance < 0 }}debt {{ user.balance | format('%.2f') }}{{ END }}", "{\"user\":{\"balance\":-177.06}}", "debt -177.06"},
    {"{{ a = [1, [2, [3, 4]]]; a.1.1.0 }}|{{ a.1.1.size }}", NULL, "3|2"},
    {"{{ h = { list => [1,2], sub => { x => 'y' } }; h.sub.x }}{{ h.list.1 }}", NULL, "y2"},
    {"{{ x.y.z.size }}|{{ x.size }}|{{ x.length }}", "{}", "||"},
    {"{{ e.size }}|{{ e.0 }}|{{ IF e.size }}has{{ ELSE }}empty{{ END }}", "{\"e\":[]}", "0||empty"},
    {"{{ str.replace('\\\\s+', ' ') }}", "{\"str\":\"a   b\\t\\tc\"}", "a b c"},
    {"{{ s.replace('(?i)HELLO', 'bye') }}|{{ s.match('(?i)^(h)').0 }}", "{\"s\":\"hello\"}", "bye|h"},
    {"{{ s.replace('[а-я]+', 'X') }}|{{ s.remove('[^a-z]') }}", "{\"s\":\"abc где xyz\"}", "abc X xyz|abcxyz"},
    {"{{ s.match('^(\\\\d{4})-(\\\\d\\\\d)-(\\\\d\\\\d)').join('/') }}", "{\"s\":\"2017-01-31 23:59:50\"}", "2017/01/31"},
    {"{{ s.split('\\\\.').join(' ') }}|{{ s.replace('\\\\.', ',') }}", "{\"s\":\"1.2.3\"}", "1 2 3|1,2,3"},
    {"{{ s.match('a.c') ? 'y' : 'n' }}|{{ s.match('(?s)a.c') ? 'y' : 'n' }}", "{\"s\":\"a\\nc\"}", "n|y"},
    {"{{ s.replace('o+?', '0') }}|{{ s.replace('x*', '-') }}", "{\"s\":\"foo\"}", "f0|-f-o-o-"},
    {"{{ s.replace('\\\\bfoo\\\\b', 'bar') }}|{{ s.replace('^f', 'F') }}", "{\"s\":\"foo food foo\"}", "bar food bar|Foo food foo"},
    {"{{ s.replace('[\\\\]\\\\-]', '.') }}|{{ s.replace('[\\\\d.]+', 'N') }}", "{\"s\":\"a]b-c 1.5\"}", "a.b.c 1.5|a]b-c N"},
    {"{{ s.replace('a{2,3}', 'X') }}|{{ s.replace('{', '(') }}", "{\"s\":\"aaaa {x}\"}", "Xa {x}|aaaa (x}"},
    {"{{ 'a,b;c'.split('[,;]').size }}|{{ '2020-01-02'.split('-').1 }}", NULL, "3|01"},
    {"{{ FOREACH w IN 'one two  three'.split }}[{{ w }}]{{ END }}", NULL, "[one][two][three]"},
    {"{{ 'x' _ 1.0 }}|{{ 1.0 == 1 }}|{{ '1.0' == 1 }}", NULL, "x1|1|"},
    {"{{ 07 + 1 }}|{{ 0 }}|{{ 00 }}", NULL, "8|0|0"},
    {"{{ x = 'a'; x = x _ x _ x; x.length }}", NULL, "3"},
    {"{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 ? 'y' : 'n' }}|{{ 'a' == 'a' != 'b' }}|{{ 1 < 3 == 1 }}", NULL, "1|n|1|1"},
    {"{{ 17 div 5 }}|{{ 17 mod 5 }}|{{ 2 * 7 div 2 }}|{{ 7 div 2 * 2 }}|{{ -17 mod 5 }}|{{ 17 % -5 }}", NULL, "3|2|6|6|3|-3"},
    {"{{ 'aaa'.match('a+++') }}", NULL, "!1:16: undef error - invalid regex 'a+++': nested quantifiers"},
    {"{{ 'aaa'.match('((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)') }}", NULL, "!1:16: undef error - invalid regex '((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)': repetitions nested too deeply"},
    {"{{ 'x'.match('a)') }}", NULL, "!1:14: undef error - invalid regex 'a)': unmatched )"},
    {"{{ 'x'.match('(a') }}", NULL, "!1:14: undef error - invalid regex '(a': Unmatched ( or \\("},
    {"{{ s.match('(\\\\w+)@(\\\\w+)\\\\.(\\\\w+)').join('|') }}", "{\"s\":\"me@host.com\"}", "me|host|com"},
    {"{{ s.match('(?:ab)+(c)').0 }}|{{ s.match('(?<first>a)').0 }}", "{\"s\":\"ababc\"}", "c|a"},
    {"{{ s.replace('\\\\x41', 'a') }}|{{ s.replace('\\\\x{42}', 'b') }}|{{ s.replace('\\\\t', ' ') }}", "{\"s\":\"AB\\tC\"}", "aB\tC|Ab\tC|AB C"},
    {"{{ k = 'a' _ (0 | format('%c')) _ 'b' }}{{ h = {} }}{{ h.$k = 1 }}{{ FOREACH p IN h }}{{ p.key.length }}{{ END }}|{{ h.pairs.0.value }}|{{ h.list.size }}|{{ k.length }}", NULL, "3|1|1|3"},
    {"{{ 'abc'.substr('nan') }}|{{ l.first('nan').size }}|{{ 'x'.repeat('nan') }}|{{ 'abc' | truncate('nan') }}", "{\"l\":[1,2]}", "abc|0||"},
    {"{{ [x..x].size }}", "{\"x\":1e30}", "!1:4: undef error - range bounds out of range"},
    {"{{ [y..x].size }}|{{ [x..y].size }}", "{\"x\":3,\"y\":\"inf\"}", "!1:22: undef error - range bounds out of range"},
};

static void test_syntax(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_syntax);
}

static void test_directives(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_directives);
}

static void test_blocks(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_blocks);
}

static void test_vmethods(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_vmethods);
}

static void test_filters(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_filters);
}

static void test_errors(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_errors);
}

static void test_misc(void **state)
{
    UNUSED(state);
    RUN_TABLE(t_misc);
}

/* ---------------------------------------------------------------- options */

static void test_percent_tags(void **state)
{
    UNUSED(state);
    struct tpl_options pct = {.tags = TPL_TAGS_PERCENT};
    static const struct tcase cases[] = {
        {"<% IF x %>yes {{ keep }}<% END %>", "{\"x\":1}", "yes {{ keep }}"},
        {"<% SWITCH cmd %>\n<% CASE '/start' %>\nstart {{ user.id }}\n<% CASE ['/a', '/b'] %>\nab\n<% END %>",
         "{\"cmd\":\"/b\"}", "ab"},
        {"<%# comment %>x<%- ' y' -%>\n", NULL, "x y"},
        {"<% x = 1 %>{{ x }}<% x %>", NULL, "{{ x }}1"},
        {"<% IF %>", NULL, "!1:7: parse error"},
        {"<% PERL %>1<% END %>", NULL, "!Perl blocks are not supported (line 1)"},
    };
    run_table("percent", cases, ARRAY_SIZE(cases), &pct, NULL);
}

static void test_chomp_options(void **state)
{
    UNUSED(state);
    struct tpl_options raw = {.no_pre_chomp = true, .no_trim = true};
    struct tpl_options post = {.post_chomp = true, .no_trim = true};
    struct tpl_options notrim = {.no_trim = true};
    static const struct tcase raw_cases[] = {
        {"a\n  {{ 1 }}\nb", NULL, "a\n  1\nb"},
        {"{{ 'a' }} {{ 'b' }}", NULL, "a b"},
        {"  x  ", NULL, "  x  "},
        {"a\n  {{- 1 }}", NULL, "a1"},
    };
    static const struct tcase post_cases[] = {
        {"{{ 1 }}\n{{ 2 }}\n", NULL, "12"},
        {"{{ 1 +}}\nx", NULL, "1\nx"},
        {"{{ 1 +}}\n{{ 2 }}", NULL, "12"}, /* the next tag pre-chomps it */
        {"a\n{{ 'x' }}   \nb", NULL, "axb"},
    };
    static const struct tcase notrim_cases[] = {
        {"\n  text \n", NULL, "\n  text \n"},
        {"\n{{ 'x' }}\n", NULL, "x\n"},
    };
    run_table("no_pre_chomp", raw_cases, ARRAY_SIZE(raw_cases), &raw, NULL);
    run_table("post_chomp", post_cases, ARRAY_SIZE(post_cases), &post, NULL);
    run_table("no_trim", notrim_cases, ARRAY_SIZE(notrim_cases), &notrim, NULL);
}

static void test_auto_escape_shell(void **state)
{
    UNUSED(state);
    struct tpl_options sh = {.auto_escape_shell = true};
    static const struct tcase cases[] = {
        {"useradd {{ login }}", "{\"login\":\"x; rm -rf /\"}", "useradd 'x; rm -rf /'"},
        {"echo {{ q }}", "{\"q\":\"it's\"}", "echo 'it'\\''s'"},
        {"echo {{ q | shell }}", "{\"q\":\"a b\"}", "echo 'a b'"},
        {"echo {{ q | upper }}", "{\"q\":\"a b\"}", "echo 'A B'"},
        {"echo {{ n }}", "{\"n\":5}", "echo '5'"},
        {"echo {{ missing }}x", NULL, "echo ''x"},
        {"literal text $(x) {{ IF 1 }}kept{{ END }}", NULL, "literal text $(x) kept"},
        {"{{ BLOCK b }}[{{ v }}]{{ END }}{{ INCLUDE b v = 'a b' }}", NULL, "['a b']"},
    };
    run_table("auto_escape_shell", cases, ARRAY_SIZE(cases), &sh, NULL);
    /* off by default (D19): SHM templates keep working */
    assert_renders("useradd {{ login }}", "{\"login\":\"x y\"}", "useradd x y");
}

/* ---------------------------------------------------------------- limits */

static void assert_limit(const char *src, const struct tpl_limits *lim, const char *msg)
{
    char *got;
    int rc = render(src, NULL, NULL, lim, &got);
    bool ok = rc == ERR_LIMIT && strstr(got, msg);
    if (!ok)
        print_error("%s: want ERR_LIMIT \"%s\", got %d \"%s\"\n", src, msg, rc, got);
    free(got);
    if (!ok)
        fail();
}

static void test_limits(void **state)
{
    UNUSED(state);
    struct tpl_limits out = {.max_output = 100};
    assert_limit("{{ FOREACH i IN [1..1000] }}xxxx{{ END }}", &out,
                 "1:29: output limit exceeded (100 bytes)");
    assert_limit("{{ 'x'.repeat(1000) }}", &out, "string longer than the output limit");
    assert_limit("{{ x = 'abcdefghij' }}{{ WHILE 1 }}{{ x = x _ x }}{{ END }}", &out,
                 "string longer than the output limit");
    assert_limit("{{ x = BLOCK }}{{ FOREACH i IN [1..1000] }}yy{{ END }}{{ END }}", &out,
                 "output limit exceeded");
    struct tpl_limits steps = {.max_steps = 1000};
    assert_limit("{{ FOREACH i IN [1..900] }}{{ i }}{{ END }}", &steps,
                 "step limit exceeded (1000 steps)");
    assert_limit("{{ l = [] }}{{ FOREACH i IN [1..900] }}{{ l.push(i) }}{{ END }}", &steps,
                 "step limit exceeded");
    struct tpl_limits iters = {.max_iterations = 50};
    assert_limit("{{ x = [1..51] }}", &iters, "range larger than the iteration limit (50)");
    assert_limit("{{ l = [1..50] }}{{ l.push(1) }}", &iters, "list larger than the iteration limit");
    assert_limit("{{ l = [] }}{{ l.100 = 1 }}", &iters, "list index 100 too large");
    struct tpl_limits wl = {.max_while = 10};
    assert_limit("{{ WHILE 1 }}{{ END }}", &wl, "WHILE loop terminated (> 10 iterations)");
    assert_limit("{{ WHILE 1 }}{{ END }}", NULL, "WHILE loop terminated (> 1000 iterations)");
    struct tpl_limits depth = {.max_depth = 5};
    assert_limit("{{ MACRO f(n) BLOCK }}{{ f(n + 1) }}{{ END }}{{ f(1) }}", &depth,
                 "include depth limit exceeded (5)");
    assert_limit("{{ BLOCK b }}{{ PROCESS b }}{{ END }}{{ PROCESS b }}", &depth,
                 "include depth limit exceeded (5)");
    assert_limit("{{ t = '{' _ '{ t | eval }' _ '}' }}{{ t | eval }}", &depth, "include depth limit");
    struct tpl_limits time = {.max_ms = 1, .max_steps = 1000000000};
    assert_limit("{{ FOREACH i IN [1..900000] }}{{ x = i * 2 }}{{ END }}", &time,
                 "time limit exceeded (1 ms)");
    struct tpl_limits mem = {.max_memory = 200000};
    assert_limit("{{ l = [] }}{{ FOREACH i IN [1..100000] }}{{ l.push('abcdefghijklmnop' _ i) }}{{ END }}",
                 &mem, "memory limit exceeded (200000 bytes)");
    /* limits are not exceptions: TRY cannot swallow them */
    assert_limit("{{ TRY }}{{ WHILE 1 }}{{ END }}{{ CATCH }}caught{{ END }}", &wl,
                 "WHILE loop terminated");
    assert_limit("{{ TRY }}{{ 'x'.repeat(500) }}{{ CATCH }}caught{{ FINAL }}final{{ END }}", &out,
                 "string longer");
    /* within the limits the same templates render */
    assert_renders_opt("{{ FOREACH i IN [1..10] }}{{ i }}{{ END }}", NULL, NULL, &steps,
                       "12345678910");
}

static void test_caller_buffer_cap(void **state)
{
    UNUSED(state);
    struct tpl *t;
    struct err e;
    struct buf b;
    assert_int_equal(tpl_compile("small", "0123456789abc", 13, NULL, &t, &e), 0);
    buf_init(&b, 8);
    assert_int_equal(tpl_render(t, NULL, &b, &e), ERR_LIMIT);
    assert_non_null(strstr(e.msg, "template small"));
    assert_int_equal(b.len, 0); /* unchanged on failure */
    buf_free(&b);
    buf_init(&b, 0);
    assert_int_equal(tpl_render(t, NULL, &b, &e), 0);
    assert_string_equal(b.data, "0123456789abc");
    buf_free(&b);
    tpl_unref(t);
}

/* ---------------------------------------------------------------- host objects */

struct fake_user {
    int64_t id;
};

/* A record of side effects of host calls, for the tests to inspect. */
static char calls[512];

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void record(const char *fmt, ...)
{
    size_t n = strlen(calls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
    va_end(ap);
}

static struct tpl_value user_new(int64_t id);

static void user_free(void *self)
{
    free(self);
}

static int pays_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    struct fake_user *u = self;
    UNUSED(cx);
    UNUSED(e);
    if (strcmp(name, "forecast"))
        return TPL_DECLINED;
    const struct tpl_value *blocked = tpl_args_kv(a, "blocked");
    *out = tpl_hash_new();
    tpl_hash_set(out, "total", 5, u->id == 1 ? tpl_int(0) : tpl_num(1035.01));
    tpl_hash_set(out, "blocked", 7, tpl_int(blocked && tpl_value_truth(blocked)));
    struct tpl_value items = tpl_list_new();
    if (u->id != 1) {
        struct tpl_value it = tpl_hash_new();
        tpl_hash_set(&it, "name", 4, tpl_cstr("Тариф X-MAX (10000 мб)"));
        tpl_hash_set(&it, "total", 5, tpl_int(300));
        tpl_hash_set(&it, "expire", 6, tpl_cstr("2017-01-31 23:59:50"));
        tpl_list_push(&items, it);
        it = tpl_hash_new();
        tpl_hash_set(&it, "name", 4, tpl_cstr("Domain"));
        tpl_hash_set(&it, "total", 5, tpl_num(735.01));
        tpl_list_push(&items, it);
    }
    tpl_hash_set(out, "items", 5, items);
    tpl_hash_set(out, "dept", 4, u->id == 1 ? tpl_int(0) : tpl_num(177.06));
    return 0;
}

static const struct tpl_object_ops pays_ops = {
    .type_name = "Core::Pay",
    .call = pays_call,
    .free = user_free,
};

static int user_get(void *self, struct tpl_ctx *cx, const char *name, struct tpl_value *out,
                    struct err *e)
{
    struct fake_user *u = self;
    UNUSED(cx);
    UNUSED(e);
    if (!strcmp(name, "id"))
        *out = tpl_int(u->id);
    else if (!strcmp(name, "login"))
        *out = tpl_cstr(u->id == 40092 ? "danuk" : "admin");
    else if (!strcmp(name, "balance"))
        *out = tpl_num(u->id == 40092 ? -177.06 : 0);
    else if (!strcmp(name, "full_name"))
        *out = tpl_cstr("Фирсов Даниил Андреевич");
    else if (!strcmp(name, "pays")) {
        struct fake_user *p = xmalloc(sizeof(*p));
        *p = *u;
        *out = tpl_object_new(&pays_ops, p);
    } else
        return TPL_DECLINED;
    return 0;
}

static int user_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    const struct tpl_value *first = tpl_args_at(a, 0);
    if (!strcmp(name, "id") && first) {
        *out = user_new((int64_t)tpl_value_double(first));
        return 0;
    }
    if (!strcmp(name, "gen_session")) {
        const struct tpl_value *usi = tpl_args_kv(a, "usi");
        char id[64];
        snprintf(id, sizeof(id), "sess-%lld", usi ? (long long)tpl_value_double(usi) : 0LL);
        *out = tpl_hash_new();
        tpl_hash_set(out, "id", 2, tpl_cstr(id));
        return 0;
    }
    if (!strcmp(name, "fail"))
        return err_set(e, ERR_INVALID, "user %lld cannot do that", (long long)((struct fake_user *)self)->id);
    if (!strcmp(name, "comment") && a->npos == 1) { /* `user.comment = x` */
        size_t n;
        const char *s = tpl_str_data(first, &n);
        record("comment=%.*s;", (int)n, s);
        return 0;
    }
    if (!strcmp(name, "host_ptr")) {
        *out = tpl_cstr(tpl_ctx_host(cx) ? (const char *)tpl_ctx_host(cx) : "none");
        return 0;
    }
    return user_get(self, cx, name, out, e);
}

static const struct tpl_object_ops user_ops = {
    .type_name = "Core::User",
    .get = user_get,
    .call = user_call,
    .free = user_free,
};

static struct tpl_value user_new(int64_t id)
{
    struct fake_user *u = xmalloc(sizeof(*u));
    u->id = id;
    return tpl_object_new(&user_ops, u);
}

/* `user` / `user(id)`: SHM's lazy top-level function. */
static int fn_user(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(cx);
    UNUSED(e);
    const struct tpl_value *id = tpl_args_at(a, 0);
    *out = user_new(id ? (int64_t)tpl_value_double(id) : 40092);
    return 0;
}

/* toJson(x): canonical compact JSON, as SHM's helper. */
static int fn_to_json(void *self, struct tpl_ctx *cx, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(self);
    UNUSED(cx);
    const struct tpl_value *v = tpl_args_at(a, 0);
    json_t *j;
    if (!v)
        return TPL_DECLINED;
    if (tpl_value_to_json(v, &j, e))
        return ERR_LIMIT;
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    *out = tpl_cstr(s);
    free(s);
    return 0;
}

/* ref(x): a hash wrapped in a list, a list as is, undefined → []. */
static int fn_ref(void *self, struct tpl_ctx *cx, const struct tpl_args *a, struct tpl_value *out,
                  struct err *e)
{
    UNUSED(self);
    UNUSED(cx);
    UNUSED(e);
    const struct tpl_value *v = tpl_args_at(a, 0);
    if (v && v->type == TPL_HASH) {
        *out = tpl_list_new();
        tpl_list_push(out, tpl_value_ref(v));
    } else if (v && tpl_value_truth(v)) {
        *out = tpl_value_ref(v);
    } else {
        *out = tpl_list_new();
    }
    return 0;
}

/* A recorder: every method call is logged with its SHM-style arguments. */
static int rec_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(cx);
    UNUSED(e);
    record("%s.%s(", (const char *)self, name);
    for (size_t i = 0; i < a->npos; i++) {
        struct buf b;
        buf_init(&b, 0);
        tpl_value_print(&a->pos[i], &b);
        record("%s%s", i ? "," : "", b.data);
        buf_free(&b);
    }
    size_t it = 0, kl;
    const char *k;
    const struct tpl_value *v;
    while (a->named && tpl_hash_next(a->named, &it, &k, &kl, &v)) {
        json_t *j;
        tpl_value_to_json(v, &j, NULL);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        record(" %.*s=%s", (int)kl, k, s);
        free(s);
        json_decref(j);
    }
    record(");");
    const struct tpl_value *url = tpl_args_at(a, 0);
    if (!strcmp(name, "post") && url && !strncmp(tpl_str_data(url, NULL), "https:", 6)) {
        /* http.post → the panel's answer */
        *out = tpl_hash_new();
        tpl_hash_set(out, "id", 2, tpl_int(77));
        return 0;
    }
    return TPL_DECLINED;
}

static const struct tpl_object_ops rec_ops = {.type_name = "Recorder", .call = rec_call};

/* The host variables of the object-model tests. */
static struct tpl_value host_vars(const char *json)
{
    struct tpl_value v = vars_from(json);
    tpl_hash_set(&v, "user", 4, tpl_func_new(fn_user, NULL, NULL));
    tpl_hash_set(&v, "toJson", 6, tpl_func_new(fn_to_json, NULL, NULL));
    tpl_hash_set(&v, "ref", 3, tpl_func_new(fn_ref, NULL, NULL));
    tpl_hash_set(&v, "http", 4, tpl_object_new(&rec_ops, "http"));
    tpl_hash_set(&v, "storage", 7, tpl_object_new(&rec_ops, "storage"));
    tpl_hash_set(&v, "task", 4, tpl_object_new(&rec_ops, "task"));
    return v;
}

static void assert_host(const char *src, const char *json, const struct tpl_options *opt,
                        const char *want)
{
    struct tpl_value vars = host_vars(json);
    char *got;
    int rc = render_full(src, &vars, opt, NULL, &got);
    tpl_value_drop(&vars);
    bool ok = want[0] == '!' ? rc && strstr(got, want + 1) : !rc && !strcmp(got, want);
    if (!ok)
        print_error("template: %s\nwant: %s\ngot (%d): %s\n", src, want, rc, got);
    free(got);
    if (!ok)
        fail();
}

static void test_host_objects(void **state)
{
    UNUSED(state);
    assert_host("{{ user.login }} {{ user.id }} {{ user.balance }}", NULL, NULL,
                "danuk40092-177.06"); /* PRE_CHOMP eats lone spaces between tags */
    assert_host("{{ user.login }}, {{ user.id }}", NULL, NULL, "danuk, 40092");
    assert_host("{{ user(1).login }}|{{ user.id(1).login }}|{{ user.id(40092).balance }}", NULL,
                NULL, "admin|admin|-177.06");
    assert_host("{{ user.pays.forecast.total }}|{{ user.pays.forecast('blocked', 1).blocked }}|"
                "{{ user.pays.forecast(blocked = 1).blocked }}|{{ user.pays.forecast({blocked => 1}).blocked }}",
                NULL, NULL, "1035.01|1|1|1");
    assert_host("{{ user.gen_session(usi = 101).id }}", NULL, NULL, "sess-101");
    assert_host("{{ user.nosuch }}|{{ user.defined }}|{{ user.size }}|{{ user.list.size }}|{{ user }}",
                NULL, NULL, "|1|1|1|Core::User");
    assert_host("{{ u = user }}{{ u.login }}|{{ l = [user, user(1)] }}{{ l.1.login }}|"
                "{{ FOR x IN l }}{{ x.id }},{{ END }}",
                NULL, NULL, "danuk|admin|40092,1,");
    assert_host("{{ user.fail }}", NULL, NULL, "!1:4: undef error - user 40092 cannot do that");
    assert_host("{{ TRY }}{{ user.fail }}{{ CATCH }}caught: {{ error.info }}{{ END }}", NULL, NULL,
                "caught: user 40092 cannot do that");
    calls[0] = '\0';
    assert_host("{{ user.comment = 'hi' }}ok", NULL, NULL, "ok");
    assert_string_equal(calls, "comment=hi;");
    assert_host("{{ toJson({a => 1, b => 2}) }}", NULL, NULL, "{\"a\":1,\"b\":2}");
    assert_host("{{ toJson([1, 'x', {k => [true]}]) }}|{{ toJson }}", NULL, NULL,
                "[1,\"x\",{\"k\":[null]}]|");
    assert_host("{{ FOR i IN ref(h) }}{{ i.a }}{{ END }}|{{ FOR i IN ref(l) }}{{ i }}{{ END }}|"
                "{{ ref(x).size }}",
                "{\"h\":{\"a\":1},\"l\":[1,2]}", NULL, "1|12|0");
    /* host values stay valid after the template that made them is gone */
    struct tpl_value vars = host_vars("{\"keep\":{}}");
    char *got;
    assert_int_equal(render_full("{{ keep.x = 'lit'; keep.l = [1, 'two']; top = 1 }}", &vars, NULL, NULL,
                                 &got), 0);
    free(got);
    assert_int_equal(render_full("{{ keep.x }}{{ keep.l.1 }}", &vars, NULL, NULL, &got), 0);
    assert_string_equal(got, "littwo");
    free(got);
    assert_null(tpl_hash_get(&vars, "top", 3)); /* top-level assignments stay in the render */
    tpl_value_drop(&vars);
}

static void test_host_pointer(void **state)
{
    UNUSED(state);
    struct tpl_value vars = host_vars(NULL);
    struct tpl_env env = {.vars = &vars, .host = "request-42"};
    struct buf b;
    struct err e;
    buf_init(&b, 0);
    assert_int_equal(tpl_render_string("h", "{{ user.host_ptr }}", 19, NULL, &env, &b, &e), 0);
    assert_string_equal(b.data, "request-42");
    buf_free(&b);
    tpl_value_drop(&vars);
}

/* ---------------------------------------------------------------- templates.md §9 */

static void test_spec_vectors(void **state)
{
    UNUSED(state);
    /* §9.1 */
    assert_host("{{ toJson({a=>1,b=>2}) }}", NULL, NULL, "{\"a\":1,\"b\":2}");
    assert_host("{{ PERL }}print \"My login is: \" . $stash->get('user.login');{{ END }}", NULL,
                NULL, "!Perl blocks are not supported (line 1)");
    assert_host(" \n\t  text padded with whitespace only \n\n ", NULL, NULL,
                "text padded with whitespace only");
    assert_host("{{ user.id(1).pays.forecast.total }}", NULL, NULL, "0");
    assert_host("{{ user.id(40092).pays.forecast.total }}|{{ user.pays.forecast.total }}", NULL,
                NULL, "1035.01|1035.01");
    assert_host("Hello {{ user.login }} ({{ user.id }}), balance={{ user.balance }} x={{ request.params.x }}",
                "{\"request\":{\"params\":{\"x\":\"42\"}}}", NULL,
                "Hello danuk (40092), balance=-177.06 x=42");
    assert_host("{{ INCLUDE shm_greeting }}", NULL, NULL,
                "Hello danuk (40092), balance=-177.06");
}

static void test_spec_forecast_mail(void **state)
{
    UNUSED(state);
    /* §9.2 */
    const char *src = "Dear {{ user.full_name }},\n"
                      "{{ FOR item IN user.pays.forecast.items }}\n"
                      "- {{ item.name }}: {{ item.total }}{{ IF item.expire }}, expires {{ item.expire }}{{ END }}\n"
                      "{{ END }}\n"
                      "{{ IF user.pays.forecast.dept }}Debt: {{ user.pays.forecast.dept }}{{ END }}\n"
                      "Total to pay: {{ user.pays.forecast.total }}\n"
                      "Cabinet: {{ config.api.url }}\n";
    assert_host(src, "{\"config\":{\"api\":{\"url\":\"https://bill.example.com\"}}}", NULL,
                /* PRE_CHOMP removes the newline before each {{ END }} and {{ IF }} */
                "Dear Фирсов Даниил Андреевич,\n"
                "- Тариф X-MAX (10000 мб): 300, expires 2017-01-31 23:59:50\n"
                "- Domain: 735.01Debt: 177.06\n"
                "Total to pay: 1035.01\n"
                "Cabinet: https://bill.example.com");
}

static void test_spec_ssh_script(void **state)
{
    UNUSED(state);
    /* §9.3, with `us` as data */
    const char *src =
        "#!/bin/bash\n"
        "{{ SWITCH event_name }}\n"
        "{{ CASE 'CREATE' }}\n"
        "create-user \"u{{ us.id }}\" \"{{ us.password }}\"\n"
        "curl -s -X PUT -H \"session-id: {{ user.gen_session(usi = us.id).id }}\" \\\n"
        "     \"{{ config.api.url }}/shm/v1/storage/manage/vpn{{ us.id }}?user_service_id={{ us.id }}\"\n"
        "{{ CASE 'BLOCK' }}\n"
        "lock-user \"u{{ us.id }}\"\n"
        "{{ CASE 'ACTIVATE' }}\n"
        "unlock-user \"u{{ us.id }}\"\n"
        "{{ CASE 'REMOVE' }}\n"
        "delete-user \"u{{ us.id }}\"\n"
        "{{ END }}\n";
#define SSH_DATA                                                                                   \
    "{\"us\":{\"id\":101,\"password\":\"enos1aer\"},"                                                 \
    "\"config\":{\"api\":{\"url\":\"https://bill\"}},\"event_name\":\"%s\"}"
    char json[256];
    snprintf(json, sizeof(json), SSH_DATA, "CREATE");
    assert_host(src, json, NULL,
                "#!/bin/bash\n"
                "create-user \"u101\" \"enos1aer\"\n"
                "curl -s -X PUT -H \"session-id: sess-101\" \\\n"
                "     \"https://bill/shm/v1/storage/manage/vpn101?user_service_id=101\"");
    snprintf(json, sizeof(json), SSH_DATA, "BLOCK");
    assert_host(src, json, NULL, "#!/bin/bash\nlock-user \"u101\"");
    snprintf(json, sizeof(json), SSH_DATA, "UNKNOWN");
    assert_host(src, json, NULL, "#!/bin/bash");
}

/* Two-pass bot rendering (transports.md §5.3): <% %> selects, {{ }} fills. */
static void bot_render(const char *script, const char *json, const char *want)
{
    struct tpl_options pct = {.tags = TPL_TAGS_PERCENT};
    struct tpl_value vars = host_vars(json);
    char *first, *second;
    assert_int_equal(render_full(script, &vars, &pct, NULL, &first), 0);
    int rc = render_full(first, &vars, NULL, NULL, &second);
    tpl_value_drop(&vars);
    if (rc || strcmp(second, want))
        fail_msg("bot pass 2 (%d):\n%s\nwant:\n%s", rc, second, want);
    free(first);
    free(second);
}

static void test_spec_bot_script(void **state)
{
    UNUSED(state);
    /* §9.4, shortened: services come from data instead of SQL */
    const char *script =
        "<% SWITCH cmd %>\n"
        "<% CASE 'USER_NOT_FOUND' %>\n"
        "{ \"shmRegister\": { \"partner_id\": \"{{ args.0 }}\", \"callback_data\": \"/start\" } }\n"
        "<% CASE ['/start', '/menu'] %>\n"
        "{ \"sendMessage\": { \"text\": \"Balance: {{ user.balance }}, to pay: {{ user.pays.forecast('blocked', 1).total }}\",\n"
        "  \"reply_markup\": { \"inline_keyboard\": [\n"
        "  {{ FOR item IN ref(services) }}\n"
        "    [ { \"text\": \"{{ item.name }} — {{ item.status }}\", \"callback_data\": \"/service {{ item.user_service_id }}\" } ],\n"
        "  {{ END }}\n"
        "    [ { \"text\": \"Buy\", \"callback_data\": \"/pricelist\" } ] ] } } }\n"
        "<% CASE '/serviceorder' %>\n"
        "{ \"shmServiceOrder\": { \"service_id\": \"{{ args.0 }}\" } }\n"
        "<% END %>\n";
    bot_render(script, "{\"cmd\":\"USER_NOT_FOUND\",\"args\":[\"55\"]}",
               "{ \"shmRegister\": { \"partner_id\": \"55\", \"callback_data\": \"/start\" } }");
    bot_render(script, "{\"cmd\":\"/serviceorder\",\"args\":[7]}",
               "{ \"shmServiceOrder\": { \"service_id\": \"7\" } }");
    bot_render(script,
               "{\"cmd\":\"/menu\",\"services\":{\"name\":\"VPN\",\"status\":\"ACTIVE\",\"user_service_id\":9}}",
               "{ \"sendMessage\": { \"text\": \"Balance: -177.06, to pay: 1035.01\",\n"
               "  \"reply_markup\": { \"inline_keyboard\": [\n"
               "    [ { \"text\": \"VPN — ACTIVE\", \"callback_data\": \"/service 9\" } ],\n"
               "    [ { \"text\": \"Buy\", \"callback_data\": \"/pricelist\" } ] ] } } }");
}

static void test_spec_local_action(void **state)
{
    UNUSED(state);
    /* §9.5 */
    const char *src =
        "{{ r = http.post(server.settings.api_url _ '/users', content = { name = 'u' _ us.id }) }}\n"
        "{{ IF r.id }}{{ storage.save('panel' _ us.id, r) }}{{ task.answer(status = SUCCESS) }}\n"
        "{{ ELSE }}{{ task.answer(status = FAIL, msg = 'panel error') }}{{ END }}";
    calls[0] = '\0';
    assert_host(src, "{\"server\":{\"settings\":{\"api_url\":\"https://panel\"}},\"us\":{\"id\":5},"
                     "\"SUCCESS\":1,\"FAIL\":0}",
                NULL, "");
    /* the saved hash prints as HASH(0x…) in the record: compare the stable parts */
    assert_non_null(strstr(calls, "http.post(https://panel/users content={\"name\":\"u5\"});"
                                  "storage.save(panel5,HASH(0x"));
    assert_non_null(strstr(calls, ");task.answer( status=1);"));
    calls[0] = '\0';
    assert_host(src, "{\"server\":{\"settings\":{}},\"us\":{\"id\":5},\"FAIL\":0}", NULL, "");
    assert_non_null(strstr(calls, "task.answer( status=0 msg=\"panel error\");"));
}

/* ---------------------------------------------------------------- value API */

static void test_value_api(void **state)
{
    UNUSED(state);
    struct tpl_value h = tpl_hash_new();
    char key[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        tpl_hash_set(&h, key, (size_t)n, tpl_int(i));
    }
    for (int i = 0; i < 100; i += 2) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        assert_true(tpl_hash_del(&h, key, (size_t)n));
    }
    assert_false(tpl_hash_del(&h, "k0", 2));
    assert_int_equal(tpl_hash_len(&h), 50);
    tpl_hash_set(&h, "k1", 2, tpl_cstr("one")); /* replaced in place */
    size_t it = 0, kl, count = 0;
    const char *k;
    const struct tpl_value *v;
    int last = -1;
    while (tpl_hash_next(&h, &it, &k, &kl, &v)) { /* insertion order survives deletes */
        int idx = (int)strtol(k + 1, NULL, 10);
        assert_true(idx > last);
        last = idx;
        count++;
    }
    assert_int_equal(count, 50);
    assert_string_equal(tpl_str_data(tpl_hash_get(&h, "k1", 2), NULL), "one");
    assert_int_equal(tpl_hash_get(&h, "k99", 3)->u.i, 99);
    assert_null(tpl_hash_get(&h, "k98", 3));
    tpl_value_drop(&h);
    assert_int_equal(h.type, TPL_UNDEF);

    json_error_t je;
    json_t *j = json_loads("{\"a\":[1,2.5,\"x\",true,false,null,{\"b\":{}}],\"c\":\"\\u00e9\"}", 0, &je);
    struct tpl_value x = tpl_value_from_json(j);
    json_t *back;
    assert_int_equal(tpl_value_to_json(&x, &back, NULL), 0);
    assert_true(json_equal(j, back));
    json_decref(j);
    json_decref(back);
    tpl_value_drop(&x);

    struct tpl_value s = tpl_cstr("0"), e = tpl_str("", 0), f = tpl_cstr("0.0");
    assert_false(tpl_value_truth(&s));
    assert_false(tpl_value_truth(&e));
    assert_true(tpl_value_truth(&f));
    assert_true(tpl_value_double(&f) == 0);
    tpl_value_drop(&s);
    tpl_value_drop(&e);
    tpl_value_drop(&f);

    struct tpl_value one = tpl_list_new(), many = tpl_list_new(), none = tpl_list_new();
    tpl_list_push(&one, tpl_cstr("only"));
    tpl_list_push(&many, tpl_int(1));
    tpl_list_push(&many, tpl_int(2));
    one = tpl_value_perl_list(one);
    many = tpl_value_perl_list(many);
    none = tpl_value_perl_list(none);
    assert_int_equal(one.type, TPL_STR);
    assert_int_equal(many.type, TPL_LIST);
    assert_int_equal(none.type, TPL_UNDEF);
    tpl_value_drop(&one);
    tpl_value_drop(&many);

    /* SHM key/value arguments: pairs, hashes, named (later wins) */
    struct tpl_value pos[3] = {tpl_cstr("name"), tpl_cstr("vpn1"), tpl_hash_new()};
    tpl_hash_set(&pos[2], "days", 4, tpl_int(3));
    struct tpl_value named = tpl_hash_new();
    tpl_hash_set(&named, "name", 4, tpl_cstr("vpn2"));
    struct tpl_args a = {.pos = pos, .npos = 3};
    assert_string_equal(tpl_str_data(tpl_args_kv(&a, "name"), NULL), "vpn1");
    assert_int_equal(tpl_args_kv(&a, "days")->u.i, 3);
    assert_null(tpl_args_kv(&a, "vpn1"));
    a.named = &named;
    assert_string_equal(tpl_str_data(tpl_args_kv(&a, "name"), NULL), "vpn2");
    assert_string_equal(tpl_str_data(tpl_args_named(&a, "name"), NULL), "vpn2");
    assert_null(tpl_args_at(&a, 3));
    for (int i = 0; i < 3; i++)
        tpl_value_drop(&pos[i]);
    tpl_value_drop(&named);
}

static void test_number_output(void **state)
{
    UNUSED(state);
    static const struct tcase cases[] = {
        {"{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e }}", "{\"a\":300,\"b\":123.45,\"c\":-177.06,\"d\":1035.01,\"e\":0.5}",
         "300|123.45|-177.06|1035.01|0.5"},
        {"{{ a + 0 }}|{{ a * 1 }}", "{\"a\":300.0}", "300|300"},
        {"{{ s }}|{{ s + 0 }}", "{\"s\":\"1.50\"}", "1.50|1.5"},
        {"{{ x * x }}|{{ -x * x }}", "{\"x\":1e300}", "Inf|-Inf"},
        {"{{ 9223372036854775807 + 1 }}", NULL, "9.22337203685478e+18"},
        {"{{ 2 / 3 }}", NULL, "0.666666666666667"},
        {"{{ b }}|{{ b + 1 }}|{{ f ? 'y' : 'n' }}", "{\"b\":true,\"f\":false}", "1|2|n"},
    };
    RUN_TABLE(cases);
}

/* ---------------------------------------------------------------- compile API, cache */

static void test_compile_api(void **state)
{
    UNUSED(state);
    struct tpl *a, *b, *c;
    struct err e;
    const char *src = "{{ x }}";
    assert_int_equal(tpl_compile_cached("c1", src, 7, NULL, &a, &e), 0);
    assert_int_equal(tpl_compile_cached("c1", src, 7, NULL, &b, &e), 0);
    assert_ptr_equal(a, b); /* shared */
    struct tpl_options pct = {.tags = TPL_TAGS_PERCENT};
    assert_int_equal(tpl_compile_cached("c1", src, 7, &pct, &c, &e), 0);
    assert_ptr_not_equal(a, c);
    assert_string_equal(tpl_name(c), "c1");
    tpl_unref(c);
    tpl_unref(b);
    tpl_cache_clear();
    assert_int_equal(tpl_compile_cached("c1", src, 7, NULL, &b, &e), 0);
    assert_ptr_not_equal(a, b);
    tpl_unref(a);
    tpl_unref(b);
    tpl_cache_clear();

    assert_int_equal(tpl_compile("bad", "a\n{{ IF x }}", 12, NULL, &a, &e), ERR_INVALID);
    assert_null(a);
    assert_string_equal(e.msg, "template bad:2:11: parse error - missing END for IF at 2:4");
    assert_int_equal(tpl_compile_cached("bad", "{{ ( }}", 7, NULL, &a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "template bad:1:6: parse error"));

    /* a compiled template renders repeatedly and with NULL env/err */
    assert_int_equal(tpl_compile(NULL, "{{ 'v' }}", 9, NULL, &a, NULL), 0);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(tpl_render(a, NULL, &out, NULL), 0);
    assert_int_equal(tpl_render(tpl_ref(a), NULL, &out, NULL), 0);
    assert_string_equal(out.data, "vv");
    assert_string_equal(tpl_name(a), "input text");
    tpl_unref(a);
    tpl_unref(a);
    buf_free(&out);
}

static void test_loader_cases(void **state)
{
    UNUSED(state);
    assert_renders("{{ INSERT raw }}", NULL, "raw {{ not parsed }}");
    assert_renders("{{ INCLUDE io_error }}", NULL, "!file error - io_error: database unavailable");
    assert_renders("{{ INCLUDE broken }}", NULL, "!file error - template broken:1:10: parse error");
    assert_renders("{{ PROCESS lib }}|{{ INCLUDE greet who = 'Ann' }}", NULL, "lib loaded|Hi Ann");
    assert_renders("{{ WRAPPER wrap title = 'T' }}body{{ END }}", NULL, "<body|T>");
    assert_renders("{{ n = 0 }}{{ INCLUDE rec }}|{{ n }}", NULL, "321|0");
    assert_renders("{{ INSERT nothere }}", NULL, "!file error - nothere: not found");
    /* no loader at all */
    struct tpl_env env = {0};
    struct buf b;
    struct err e;
    buf_init(&b, 0);
    assert_int_equal(tpl_render_string("n", "{{ INCLUDE x }}", 15, NULL, &env, &b, &e), ERR_INVALID);
    assert_string_equal(e.msg, "template n:1:4: file error - x: not found");
    buf_free(&b);
}

/* ---------------------------------------------------------------- memory */

static void test_cycles_and_memory(void **state)
{
    UNUSED(state);
    size_t before = tpl_mem_live();
    static const struct tcase cases[] = {
        {"{{ h = {}; h.self = h; l = [1]; l.push(l); h.l = l }}ok", NULL, "ok"},
        {"{{ FOREACH i IN l }}{{ l.push(loop) IF loop.first }}{{ END }}ok", "{\"l\":[1,2]}", "ok"},
        {"{{ TRY }}{{ THROW x {a => 1} }}{{ CATCH }}{{ error.info.e = error }}{{ END }}ok", NULL, "ok"},
        {"{{ MACRO m BLOCK }}{{ END }}{{ h = { m => m } }}{{ h.self = h }}ok", NULL, "ok"},
        {"{{ x = [] }}{{ FOREACH i IN [1..100000] }}{{ x = [x] }}{{ END }}deep", NULL, "deep"},
    };
    RUN_TABLE(cases);
    tpl_gc_collect();
    assert_int_equal(tpl_mem_live(), before);
}

struct thread_arg {
    const struct tpl *t;
    int ok;
};

static void *render_thread(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 50; i++) {
        struct tpl_value vars = vars_from("{\"l\":[3,1,2]}");
        struct tpl_env env = {.vars = &vars};
        struct buf b;
        buf_init(&b, 0);
        if (tpl_render(a->t, &env, &b, NULL) == 0 && !strcmp(b.data, "1,2,3 / ok"))
            a->ok++;
        buf_free(&b);
        tpl_value_drop(&vars);
    }
    return NULL;
}

static void test_threads(void **state)
{
    UNUSED(state);
    struct tpl *t;
    const char *src = "{{ l.sort.join(',') }} / {{ 'OK' | lower }}";
    assert_int_equal(tpl_compile("mt", src, strlen(src), NULL, &t, NULL), 0);
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].t = t;
        args[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, render_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(args[i].ok, 50);
    tpl_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_vmethods),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_percent_tags),
        cmocka_unit_test(test_chomp_options),
        cmocka_unit_test(test_auto_escape_shell),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_caller_buffer_cap),
        cmocka_unit_test(test_host_objects),
        cmocka_unit_test(test_host_pointer),
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_spec_forecast_mail),
        cmocka_unit_test(test_spec_ssh_script),
        cmocka_unit_test(test_spec_bot_script),
        cmocka_unit_test(test_spec_local_action),
        cmocka_unit_test(test_value_api),
        cmocka_unit_test(test_number_output),
        cmocka_unit_test(test_compile_api),
        cmocka_unit_test(test_loader_cases),
        cmocka_unit_test(test_cycles_and_memory),
        cmocka_unit_test(test_threads),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tpl_cache_clear();
    return rc;
}
