/*
 * learnshape: the shapes a label value fits and the flags that keep a label out of a
 * proposal, on the values the reference services send and on those they must never
 * expose.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "ingest/learnshape.h"

static uint32_t shapes(const char *s)
{
    return learnshape_shapes(s, strlen(s));
}

static uint32_t flags(const char *s)
{
    return learnshape_flags(s, strlen(s));
}

Test(learnshape, shapes_of_values)
{
    cr_expect_eq(learnshape_best(shapes("200")), LEARNSHAPE_BIT_DIGITS);
    cr_expect_eq(learnshape_best(shapes("5f3c1a8e-0b7d-4c1e-9a51-2d9f0c6b7e10")),
                 LEARNSHAPE_BIT_UUID);
    cr_expect_eq(learnshape_best(shapes("1.4.2")), LEARNSHAPE_BIT_VERSION);
    cr_expect_eq(learnshape_best(shapes("go1.25.8")), LEARNSHAPE_BIT_VERSION);
    cr_expect_eq(learnshape_best(shapes("dead00beef")), LEARNSHAPE_BIT_HEX);
    cr_expect_eq(learnshape_best(shapes("thumbnailGeneration")), LEARNSHAPE_BIT_WORD);
    cr_expect_eq(learnshape_best(shapes("GET /v1/images/{name}")), LEARNSHAPE_NSHAPES);
    cr_expect_eq(learnshape_best(shapes("")), LEARNSHAPE_NSHAPES);
    cr_expect_eq(learnshape_best(shapes("a")), LEARNSHAPE_BIT_WORD, "a letter is no hex number");
    /* Ten digits are no short number: an id's shape. */
    cr_expect_eq(shapes("1234567890") & LEARNSHAPE_SHAPE(DIGITS), 0);
    /* A label's shapes are the AND over its values. */
    cr_expect_eq(learnshape_best(shapes("200") & shapes("xyz")), LEARNSHAPE_NSHAPES);
    cr_expect_eq(learnshape_best(shapes("1.2") & shapes("1.3.4")), LEARNSHAPE_BIT_VERSION);
}

Test(learnshape, values_that_may_be_labels_have_no_flag)
{
    static const char *const ok[] = {
        "GET",
        "/resize",
        "/api/v1",
        "GET /v1/images/{name}",
        "thumbnailGeneration",
        "resnet50_v2_fp16",
        "imgsrv.example",
        "facial-recognition",
        "automatic approval of child image reference",
        "5f3c1a8e-0b7d-4c1e-9a51-2d9f0c6b7e10",
        "go1.25.8",
        "200",
        "cuda0",
        "inference_error",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_expect_eq(flags(ok[i]) & ~LEARNSHAPE_FLAG(TEXT), 0, "%s: flagged %#x", ok[i],
                     flags(ok[i]));
}

Test(learnshape, values_that_must_not_be_labels_are_flagged)
{
    static const struct {
        const char *v;
        uint32_t flag;
    } bad[] = {
        { "jane.doe@example.com", LEARNSHAPE_FLAG(EMAIL) },
        { "https://bucket.example/private/cat.jpg", LEARNSHAPE_FLAG(URL) },
        { "/x9Kq2Lw/rs:fit:300:300/plain/https://bucket.example/private/cat.jpg",
          LEARNSHAPE_FLAG(URL) },
        { "images/2024/cat.jpg", LEARNSHAPE_FLAG(PATH) },
        { "uploads/cat.webp", LEARNSHAPE_FLAG(PATH) },
        { "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          LEARNSHAPE_FLAG(HASH) },
        { "9f86d081884c7d659a2feaa0c55ad015", LEARNSHAPE_FLAG(HASH) },
        { "1772808370", LEARNSHAPE_FLAG(ID) },
        { "x9Kq2Lw8AbZ3", LEARNSHAPE_FLAG(ID) },
        { "connection reset by peer while reading", LEARNSHAPE_FLAG(TEXT) },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(flags(bad[i].v) & bad[i].flag, "%s: flags %#x, want %#x", bad[i].v,
                  flags(bad[i].v), bad[i].flag);
}

Test(learnshape, names_and_patterns)
{
    cr_expect_str_eq(learnshape_name(LEARNSHAPE_BIT_UUID), "uuid");
    cr_expect_str_eq(learnshape_pattern(LEARNSHAPE_BIT_DIGITS), "[0-9]+");
    cr_expect_null(learnshape_name(LEARNSHAPE_NSHAPES));
    cr_expect_str_eq(learnshape_flag_name(learnshape_first_flag(LEARNSHAPE_FLAG(EMAIL))), "email");
    cr_expect_eq(learnshape_first_flag(0), LEARNSHAPE_NFLAGS);
    cr_expect_null(learnshape_flag_why(LEARNSHAPE_NFLAGS));
}
