#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "base/bufpool.h"
#include "base/mem.h"

/* A buffer of cap bytes from malloc, as a struct buf's storage is, with its first byte set. */
static char *block(size_t cap, char mark)
{
    char *p = mem_alloc(cap);

    p[0] = mark;
    return p;
}

Test(bufpool, a_kept_buffer_comes_back_empty_with_its_storage)
{
    struct bufpool p;
    struct buf b = BUF_INIT;
    char *kept = block(1000, 'x');

    bufpool_init(&p, 100, 10000);
    bufpool_put(&p, kept, 1000);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.bytes, 1000);
    bufpool_get_buf(&p, &b);
    cr_assert_eq(b.ptr, kept, "the same storage, not a new one");
    cr_assert_eq(b.cap, 1000);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.ptr[0], '\0');
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.bytes, 0);
    cr_assert_eq(p.reused, 1);
    buf_add(&b, "abc", 3); /* a buf like any other: it grows, and is freed as one */
    cr_assert_str_eq(b.ptr, "abc");
    bufpool_put_buf(&p, &b);
    cr_assert_null(b.ptr);
    cr_assert_eq(b.cap, 0);
    cr_assert_eq(p.n, 1);
    bufpool_release(&p);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.bytes, 0);
}

Test(bufpool, the_biggest_buffer_goes_first)
{
    struct bufpool p;
    struct buf b = BUF_INIT, c = BUF_INIT;

    bufpool_init(&p, 100, 10000);
    bufpool_put(&p, block(300, 's'), 300);
    bufpool_put(&p, block(900, 'b'), 900);
    bufpool_put(&p, block(500, 'm'), 500);
    bufpool_get_buf(&p, &b);
    cr_assert_eq(b.cap, 900);
    bufpool_get_buf(&p, &c);
    cr_assert_eq(c.cap, 500);
    cr_assert_eq(p.bytes, 300);
    buf_release(&b);
    buf_release(&c);
    bufpool_release(&p);
}

Test(bufpool, a_buffer_with_storage_is_left_as_it_is_and_an_empty_pool_gives_nothing)
{
    struct bufpool p;
    struct buf b = BUF_INIT;

    bufpool_init(&p, 100, 10000);
    bufpool_get_buf(&p, &b);
    cr_assert_null(b.ptr);
    bufpool_put(&p, block(400, 'k'), 400);
    buf_add(&b, "x", 1);
    bufpool_get_buf(&p, &b);
    cr_assert_eq(b.len, 1, "its own storage and contents stay");
    cr_assert_eq(p.n, 1);
    buf_release(&b);
    bufpool_put(&p, NULL, 0); /* nothing */
    cr_assert_eq(p.n, 1);
    bufpool_release(&p);
}

/* What does not fit is freed, never kept: too small, past max_bytes, past the slots. */
Test(bufpool, the_pool_stays_within_its_bounds)
{
    struct bufpool p;

    bufpool_init(&p, 100, 1000);
    bufpool_put(&p, block(99, 't'), 99);
    cr_assert_eq(p.n, 0, "under min_cap: freed");
    bufpool_put(&p, block(600, 'a'), 600);
    bufpool_put(&p, block(500, 'b'), 500);
    cr_assert_eq(p.n, 1, "past max_bytes: freed");
    cr_assert_eq(p.bytes, 600);
    bufpool_put(&p, block(400, 'c'), 400);
    cr_assert_eq(p.bytes, 1000, "up to max_bytes exactly");
    bufpool_release(&p);

    bufpool_init(&p, 1, (size_t)1 << 30);
    for (size_t i = 0; i < BUFPOOL_SLOTS + 3; i++)
        bufpool_put(&p, block(100, 's'), 100);
    cr_assert_eq(p.n, BUFPOOL_SLOTS);
    cr_assert_eq(p.bytes, BUFPOOL_SLOTS * 100);
    bufpool_release(&p);
}
