#include "store/nativehist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"

/*
 * client_golang's nativeHistogramBounds[8], its literals: the fractions in [0.5, 1) that
 * start the 256 buckets of a power of two at schema 8. Go's table for schema s is this one
 * at a stride of 2^(8 - s): its generator copies every other bound from the schema below
 * (checked against all nine of Go's tables when this was written), so one table is all.
 * Four a row, as Go writes them; bound8(j) is the j-th.
 */
static const double bounds8[64][4] = {
    { 0.5, 0.5013556375251013, 0.5027149505564014, 0.5040779490592088 },
    { 0.5054446430258502, 0.5068150424757447, 0.5081891574554764, 0.509566998038869 },
    { 0.5109485743270583, 0.5123338964485679, 0.5137229745593818, 0.5151158188430205 },
    { 0.5165124395106142, 0.5179128468009786, 0.5193170509806894, 0.520725062344158 },
    { 0.5221368912137069, 0.5235525479396449, 0.5249720429003435, 0.526395386502313 },
    { 0.5278225891802786, 0.5292536613972564, 0.5306886136446309, 0.5321274564422321 },
    { 0.5335702003384117, 0.5350168559101208, 0.5364674337629877, 0.5379219445313954 },
    { 0.5393803988785598, 0.5408428074966075, 0.5423091811066545, 0.5437795304588847 },
    { 0.5452538663326288, 0.5467321995364429, 0.5482145409081883, 0.549700901315111 },
    { 0.5511912916539204, 0.5526857228508706, 0.5541842058618393, 0.5556867516724088 },
    { 0.5571933712979462, 0.5587040757836845, 0.5602188762048033, 0.5617377836665098 },
    { 0.5632608093041209, 0.564787964283144, 0.5663192597993595, 0.5678547070789026 },
    { 0.5693943173783458, 0.5709381019847808, 0.572486072215902, 0.5740382394200894 },
    { 0.5755946149764913, 0.5771552102951081, 0.5787200368168754, 0.5802891060137493 },
    { 0.5818624293887887, 0.5834400184762408, 0.585021884841625, 0.5866080400818185 },
    { 0.5881984958251406, 0.5897932637314379, 0.5913923554921704, 0.5929957828304968 },
    { 0.5946035575013605, 0.5962156912915756, 0.5978321960199137, 0.5994530835371903 },
    { 0.6010783657263515, 0.6027080545025619, 0.6043421618132907, 0.6059806996384005 },
    { 0.6076236799902344, 0.6092711149137041, 0.6109230164863786, 0.6125793968185725 },
    { 0.6142402680534349, 0.6159056423670379, 0.6175755319684665, 0.6192499490999082 },
    { 0.620928906036742, 0.622612415087629, 0.6243004885946023, 0.6259931389331581 },
    { 0.6276903785123455, 0.6293922197748583, 0.6310986751971253, 0.6328097572894031 },
    { 0.6345254785958666, 0.6362458516947014, 0.637970889198196, 0.6397006037528346 },
    { 0.6414350080393891, 0.6431741147730128, 0.6449179367033329, 0.6466664866145447 },
    { 0.6484197773255048, 0.6501778216898253, 0.6519406325959679, 0.6537082229673385 },
    { 0.6554806057623822, 0.6572577939746774, 0.659039800633032, 0.6608266388015788 },
    { 0.6626183215798706, 0.6644148621029772, 0.6662162735415805, 0.6680225691020727 },
    { 0.6698337620266515, 0.6716498655934177, 0.6734708931164728, 0.6752968579460171 },
    { 0.6771277734684463, 0.6789636531064505, 0.6808045103191123, 0.6826503586020058 },
    { 0.6845012114872953, 0.6863570825438342, 0.688217985377265, 0.690083933630119 },
    { 0.6919549409819159, 0.6938310211492645, 0.6957121878859629, 0.6975984549830999 },
    { 0.6994898362691555, 0.7013863456101023, 0.7032879969095076, 0.7051948041086352 },
    { 0.7071067811865475, 0.7090239421602076, 0.7109463010845827, 0.7128738720527471 },
    { 0.7148066691959849, 0.7167447066838943, 0.718687998724491, 0.7206365595643126 },
    { 0.7225904034885232, 0.7245495448210174, 0.7265139979245261, 0.7284837772007218 },
    { 0.7304588970903234, 0.7324393720732029, 0.7344252166684908, 0.7364164454346837 },
    { 0.7384130729697496, 0.7404151139112358, 0.7424225829363761, 0.7444354947621984 },
    { 0.7464538641456323, 0.7484777058836176, 0.7505070348132126, 0.7525418658117031 },
    { 0.7545822137967112, 0.7566280937263048, 0.7586795205991071, 0.7607365094544071 },
    { 0.762799075372269, 0.7648672334736434, 0.7669409989204777, 0.7690203869158282 },
    { 0.7711054127039704, 0.7731960915705107, 0.7752924388424999, 0.7773944698885442 },
    { 0.7795022001189185, 0.7816156449856788, 0.7837348199827764, 0.7858597406461707 },
    { 0.7879904225539431, 0.7901268813264122, 0.7922691326262467, 0.7944171921585818 },
    { 0.7965710756711334, 0.7987307989543135, 0.8008963778413465, 0.8030678282083853 },
    { 0.805245165974627, 0.8074284071024302, 0.8096175675974316, 0.8118126635086642 },
    { 0.8140137109286738, 0.8162207259936375, 0.8184337248834821, 0.820652723822003 },
    { 0.8228777390769823, 0.8251087869603088, 0.8273458838280969, 0.8295890460808079 },
    { 0.8318382901633681, 0.8340936325652911, 0.8363550898207981, 0.8386226785089391 },
    { 0.8408964152537144, 0.8431763167241966, 0.8454623996346523, 0.8477546807446661 },
    { 0.8500531768592616, 0.8523579048290255, 0.8546688815502312, 0.8569861239649629 },
    { 0.8593096490612387, 0.8616394738731368, 0.8639756154809185, 0.8663180910111553 },
    { 0.8686669176368529, 0.871022112577578, 0.8733836930995842, 0.8757516765159389 },
    { 0.8781260801866495, 0.8805069215187917, 0.8828942179666361, 0.8852879870317771 },
    { 0.8876882462632604, 0.890095013257712, 0.8925083056594671, 0.8949281411607002 },
    { 0.8973545375015533, 0.8997875124702672, 0.9022270839033115, 0.9046732696855155 },
    { 0.9071260877501991, 0.909585556079304, 0.9120516927035263, 0.9145245157024483 },
    { 0.9170040432046711, 0.9194902933879467, 0.9219832844793128, 0.9244830347552253 },
    { 0.9269895625416926, 0.92950288621441, 0.9320230241988943, 0.9345499949706191 },
    { 0.9370838170551498, 0.93962450902828, 0.9421720895161669, 0.9447265771954693 },
    { 0.9472879907934827, 0.9498563490882775, 0.9524316709088368, 0.9550139751351947 },
    { 0.9576032806985735, 0.9601996065815236, 0.9628029718180622, 0.9654133954938133 },
    { 0.9680308967461471, 0.9706554947643201, 0.9732872087896164, 0.9759260581154889 },
    { 0.9785720620876999, 0.9812252401044634, 0.9838856116165875, 0.9865531961276168 },
    { 0.9892280131939752, 0.9919100824251095, 0.9945994234836328, 0.9972960560854698 },
};

static double bound8(int j)
{
    return bounds8[j / 4][j % 4];
}

#define BLOCK_MIN   8
#define BLOCK_MAX   (NATIVEHIST_HARD_MAX + 1) /* one insertion, before the halving */
#define SUBNORM_EXP (-1074)                   /* 2^-1074, the least positive double */

static int32_t *keys_of(const struct nativehist *h)
{
    return h->b == NULL ? NULL : (int32_t *)(h->b + h->cap);
}

static size_t total_of(const struct nativehist *h)
{
    return (size_t)h->nneg + h->npos;
}

/* floor(k / 2^n): Go's k >> n on a signed int. */
static int32_t floor_shift(int32_t k, int n)
{
    int32_t d = (int32_t)1 << n, q = k / d;

    return k % d != 0 && k < 0 ? q - 1 : q;
}

/*
 * The key of a > 0 (|v|, finite or +Inf) at schema: histogramCounts.observe's.
 *     frac, exp := math.Frexp(math.Abs(v))
 *     schema > 0:  key = sort.SearchFloat64s(bounds, frac) + (exp-1)*len(bounds)
 *     otherwise:   key = exp; if frac == 0.5 { key-- }; key = (key + 2^-schema - 1) >> -schema
 * Inf counts as MaxFloat64, its key then incremented.
 */
static int32_t key_of(double a, int schema)
{
    int inf = isinf(a), exp;
    double frac = frexp(inf ? DBL_MAX : a, &exp);
    int32_t key;

    if (schema > 0) {
        int stride = 1 << (NATIVEHIST_SCHEMA_MAX - schema);
        int32_t lo = 0, hi = (int32_t)1 << schema;

        while (lo < hi) { /* the first bound >= frac, len(bounds) if none */
            int32_t mid = lo + (hi - lo) / 2;

            if (bound8(mid * stride) < frac)
                lo = mid + 1;
            else
                hi = mid;
        }
        key = lo + (int32_t)(exp - 1) * ((int32_t)1 << schema);
    } else {
        key = exp;
        if (frac == 0.5)
            key--;
        key = floor_shift(key + ((int32_t)1 << -schema) - 1, -schema);
    }
    return key + inf;
}

/* The least key a positive double has at schema: that of 2^-1074. */
static int32_t key_min(int schema)
{
    return schema > 0 ? SUBNORM_EXP * ((int32_t)1 << schema) : -(-SUBNORM_EXP >> -schema);
}

/* The greatest key at schema: that of +Inf, one above DBL_MAX's (2^1024 ends its bucket). */
static int32_t key_max(int schema)
{
    return (schema > 0 ? 1024 * ((int32_t)1 << schema) : 1024 >> -schema) + 1;
}

/* doubleBucketWidth's "if key > 0 { key++ }; key /= 2": ceil(key / 2). */
static int32_t half_key(int32_t key)
{
    if (key > 0)
        key++;
    return key / 2;
}

static size_t limit_of(const struct nativehist_cfg *cfg)
{
    return cfg->max_buckets == 0 || cfg->max_buckets > NATIVEHIST_HARD_MAX ? NATIVEHIST_HARD_MAX
                                                                           : cfg->max_buckets;
}

/* A new block of cap buckets holding h's; the old one freed. */
static void rehome(struct nativehist *h, size_t cap)
{
    size_t n = total_of(h);
    uint64_t *b = mem_alloc(cap * (sizeof(uint64_t) + sizeof(int32_t)));

    if (n > 0) {
        memcpy(b, h->b, n * sizeof(uint64_t));
        memcpy(b + cap, keys_of(h), n * sizeof(int32_t));
    }
    free(h->b);
    h->b = b;
    h->cap = (uint16_t)cap;
}

/*
 * addToBucket: add inc to the bucket key of a side, creating it. The total is at most
 * NATIVEHIST_HARD_MAX before the call, so the block has room for one more.
 */
static void add_to_bucket(struct nativehist *h, enum nativehist_side side, int32_t key,
                          uint64_t inc)
{
    size_t base = side == NATIVEHIST_POSITIVE ? h->nneg : 0;
    size_t end = base + (side == NATIVEHIST_POSITIVE ? h->npos : h->nneg);
    size_t lo = base, hi = end, n = total_of(h);
    int32_t *keys = keys_of(h);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < end && keys[lo] == key) {
        h->b[lo] += inc;
        return;
    }
    if (n == h->cap) {
        size_t cap = h->cap == 0 ? BLOCK_MIN : (size_t)h->cap * 2;

        rehome(h, cap < BLOCK_MAX ? cap : BLOCK_MAX);
        keys = keys_of(h);
    }
    memmove(h->b + lo + 1, h->b + lo, (n - lo) * sizeof(uint64_t));
    memmove(keys + lo + 1, keys + lo, (n - lo) * sizeof(int32_t));
    h->b[lo] = inc;
    keys[lo] = key;
    if (side == NATIVEHIST_POSITIVE)
        h->npos++;
    else
        h->nneg++;
}

/*
 * doubleBucketWidth: the schema down by one, bucket k merged into ceil(k / 2). The map
 * from k is monotonic, so each side merges in place, in one pass.
 */
static void halve(struct nativehist *h)
{
    int32_t *keys = keys_of(h);
    size_t out = 0, in = 0, start, end;

    h->schema--;
    for (int side = 0; side < 2; side++) {
        start = out;
        end = in + (side == 0 ? h->nneg : h->npos);
        for (; in < end; in++) {
            int32_t k = half_key(keys[in]);

            if (out > start && keys[out - 1] == k) {
                h->b[out - 1] += h->b[in];
            } else {
                keys[out] = k;
                h->b[out] = h->b[in];
                out++;
            }
        }
        if (side == 0)
            h->nneg = (uint16_t)(out - start);
        else
            h->npos = (uint16_t)(out - start);
    }
}

struct nativehist_cfg nativehist_cfg_default(void)
{
    struct nativehist_cfg cfg = {
        .schema = NATIVEHIST_DEFAULT_SCHEMA,
        .zero_threshold = NATIVEHIST_DEFAULT_ZERO,
        .max_buckets = NATIVEHIST_DEFAULT_BUCKETS,
    };

    return cfg;
}

int nativehist_cfg_check(const struct nativehist_cfg *cfg, const char **why)
{
    if (cfg->schema < NATIVEHIST_SCHEMA_MIN || cfg->schema > NATIVEHIST_SCHEMA_MAX)
        *why = "the schema must lie in -4..8";
    else if (isnan(cfg->zero_threshold) || isinf(cfg->zero_threshold))
        *why = "the zero threshold must be a finite number";
    else if (cfg->zero_threshold < 0)
        *why = "the zero threshold must not be negative";
    else if (cfg->max_buckets > NATIVEHIST_HARD_MAX)
        *why = "max_buckets must not exceed 4096 (0: 4096)";
    else
        return 0;
    return ERRCODE_CONFIG;
}

void nativehist_init(struct nativehist *h, const struct nativehist_cfg *cfg)
{
    memset(h, 0, sizeof *h);
    h->schema = cfg->schema;
    h->zero_threshold = cfg->zero_threshold;
}

void nativehist_free(struct nativehist *h)
{
    free(h->b);
    h->b = NULL;
    h->cap = h->nneg = h->npos = 0;
    h->count = h->zero_count = 0;
    h->sum = 0;
}

void nativehist_reset(struct nativehist *h, const struct nativehist_cfg *cfg)
{
    free(h->b);
    nativehist_init(h, cfg);
}

/*
 * histogram.observe, n times: count, sum, then (not for NaN) the bucket and limitBuckets.
 * Each of the n observations after the first finds its bucket there (the first made it,
 * or a halving merged it into the bucket the value now has), so the n go in at once; each
 * then halves once while the total exceeds the limit.
 */
int nativehist_observe(struct nativehist *h, const struct nativehist_cfg *cfg, double v, uint64_t n)
{
    size_t limit = limit_of(cfg);
    int halvings = 0;

    if (n == 0)
        return 0;
    h->count += n;
    h->sum += v * (double)n;
    if (isnan(v))
        return 0;
    if (v > h->zero_threshold)
        add_to_bucket(h, NATIVEHIST_POSITIVE, key_of(v, h->schema), n);
    else if (v < -h->zero_threshold)
        add_to_bucket(h, NATIVEHIST_NEGATIVE, key_of(-v, h->schema), n);
    else
        h->zero_count += n;
    for (uint64_t i = 0; i < n && total_of(h) > limit && h->schema > NATIVEHIST_SCHEMA_MIN; i++) {
        halve(h);
        halvings++;
    }
    /* The hard bound, past Go's one halving an observation. */
    while (total_of(h) > NATIVEHIST_HARD_MAX && h->schema > NATIVEHIST_SCHEMA_MIN) {
        halve(h);
        halvings++;
    }
    return halvings;
}

uint64_t nativehist_count(const struct nativehist *h)
{
    return h->count;
}

double nativehist_sum(const struct nativehist *h)
{
    return h->sum;
}

uint64_t nativehist_zero_count(const struct nativehist *h)
{
    return h->zero_count;
}

double nativehist_zero_threshold(const struct nativehist *h)
{
    return h->zero_threshold;
}

int nativehist_schema(const struct nativehist *h)
{
    return h->schema;
}

size_t nativehist_buckets(const struct nativehist *h, enum nativehist_side side)
{
    return side == NATIVEHIST_POSITIVE ? h->npos : h->nneg;
}

size_t nativehist_bytes(const struct nativehist *h)
{
    return (size_t)h->cap * (sizeof(uint64_t) + sizeof(int32_t));
}

void nativehist_bucket(const struct nativehist *h, enum nativehist_side side, size_t i,
                       int32_t *key, uint64_t *count)
{
    size_t at = (side == NATIVEHIST_POSITIVE ? h->nneg : 0) + i;

    *key = keys_of(h)[at];
    *count = h->b[at];
}

/*
 * getLe. The bound of the last finite bucket comes out as 2^1024, which overflows: it is
 * MaxFloat64 there (frac 1 and exp 1024 for schema < 0, frac 0.5 and exp 1025 otherwise).
 */
double nativehist_upper_bound(int schema, int32_t key)
{
    int64_t exp;
    double frac = 1.0;

    if (schema < NATIVEHIST_SCHEMA_MIN || schema > NATIVEHIST_SCHEMA_MAX)
        return NAN;
    if (schema < 0) {
        exp = (int64_t)key * ((int64_t)1 << -schema);
        if (exp == 1024)
            return DBL_MAX;
    } else {
        uint32_t idx = (uint32_t)key & ((1u << schema) - 1);

        frac = bound8((int)(idx << (NATIVEHIST_SCHEMA_MAX - schema)));
        exp = (int64_t)floor_shift(key, schema) + 1;
        if (frac == 0.5 && exp == 1025)
            return DBL_MAX;
    }
    return ldexp(frac, (int)(exp < -2000 ? -2000 : exp > 2000 ? 2000 : exp));
}

/* makeBuckets, into spans and deltas when they are not NULL; counts what it needs. */
static void make_buckets(const struct nativehist *h, enum nativehist_side side,
                         struct expo_span *spans, int64_t *deltas, size_t *nspans, size_t *ndeltas)
{
    size_t base = side == NATIVEHIST_POSITIVE ? h->nneg : 0;
    size_t n = nativehist_buckets(h, side), ns = 0, nd = 0;
    const int32_t *keys = keys_of(h);
    uint64_t prev = 0;
    int64_t next = 0;

    for (size_t i = 0; i < n; i++) {
        int64_t key = keys[base + i];
        uint64_t count = h->b[base + i];
        int32_t gap = (int32_t)(key - next);

        if (i == 0 || gap > 2) { /* a new span */
            if (spans != NULL)
                spans[ns] = (struct expo_span){ .offset = gap, .length = 0 };
            ns++;
        } else { /* a small gap (or none): empty buckets */
            for (int32_t j = 0; j < gap; j++) {
                if (spans != NULL) {
                    spans[ns - 1].length++;
                    deltas[nd] = (int64_t)(0 - prev);
                }
                nd++;
                prev = 0;
            }
        }
        if (spans != NULL) {
            spans[ns - 1].length++;
            deltas[nd] = (int64_t)(count - prev);
        }
        nd++;
        prev = count;
        next = key + 1;
    }
    *nspans = ns;
    *ndeltas = nd;
}

int nativehist_spans(const struct nativehist *h, enum nativehist_side side, struct expo_span *spans,
                     size_t max_spans, int64_t *deltas, size_t max_deltas, size_t *nspans,
                     size_t *ndeltas)
{
    make_buckets(h, side, NULL, NULL, nspans, ndeltas);
    if (*nspans > max_spans || *ndeltas > max_deltas)
        return ERRCODE_LIMIT;
    if (*nspans > 0)
        make_buckets(h, side, spans, deltas, nspans, ndeltas);
    return 0;
}

int nativehist_needs_noop_span(const struct nativehist *h)
{
    return h->zero_threshold == 0 && h->zero_count == 0 && total_of(h) == 0;
}

static void put_u16(unsigned char *p, uint16_t x)
{
    p[0] = (unsigned char)x;
    p[1] = (unsigned char)(x >> 8);
}

static void put_u64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t x;

    memcpy(&x, &d, sizeof x);
    put_u64(p, x);
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static int32_t get_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;

    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static double get_f64(const unsigned char *p)
{
    uint64_t x = get_u64(p);
    double d;

    memcpy(&d, &x, sizeof d);
    return d;
}

size_t nativehist_encoded_size(const struct nativehist *h)
{
    return NATIVEHIST_ENCODED_HEADER + NATIVEHIST_ENCODED_BUCKET * total_of(h);
}

int nativehist_encode(const struct nativehist *h, void *buf, size_t cap)
{
    size_t size = nativehist_encoded_size(h), n = total_of(h);
    unsigned char *p = buf;
    const int32_t *keys = keys_of(h);

    if (cap < size)
        return ERRCODE_LIMIT;
    p[0] = 1;
    p[1] = (unsigned char)h->schema;
    put_u16(p + 2, h->nneg);
    put_u16(p + 4, h->npos);
    put_u16(p + 6, 0);
    put_f64(p + 8, h->zero_threshold);
    put_u64(p + 16, h->count);
    put_f64(p + 24, h->sum);
    put_u64(p + 32, h->zero_count);
    p += NATIVEHIST_ENCODED_HEADER;
    for (size_t i = 0; i < n; i++, p += NATIVEHIST_ENCODED_BUCKET) {
        uint32_t k = (uint32_t)keys[i];

        for (int j = 0; j < 4; j++)
            p[j] = (unsigned char)(k >> (8 * j));
        put_u64(p + 4, h->b[i]);
    }
    return (int)size;
}

/* The buckets of a snapshot: each side ascending, in range, above the zero threshold. */
static int check_buckets(const unsigned char *p, size_t nneg, size_t npos, int schema, double zt,
                         uint64_t room)
{
    int32_t lo = key_min(schema), hi = key_max(schema), prev = 0;

    for (size_t i = 0; i < nneg + npos; i++, p += NATIVEHIST_ENCODED_BUCKET) {
        int32_t key = get_i32(p);
        uint64_t count = get_u64(p + 4);
        int first = i == 0 || i == nneg;

        if (key < lo || key > hi || (!first && key <= prev) || count == 0 || count > room)
            return ERRCODE_FORMAT;
        if (first && !(nativehist_upper_bound(schema, key) > zt))
            return ERRCODE_FORMAT;
        room -= count;
        prev = key;
    }
    return 0;
}

int nativehist_decode(struct nativehist *h, const struct nativehist_cfg *cfg, const void *buf,
                      size_t len)
{
    const unsigned char *p = buf;
    size_t nneg, npos, n, limit = limit_of(cfg);
    struct nativehist t;
    int32_t *keys;
    int schema;
    double zt;

    if (len < NATIVEHIST_ENCODED_HEADER || p[0] != 1 || get_u16(p + 6) != 0)
        return ERRCODE_FORMAT;
    schema = (int8_t)p[1];
    nneg = get_u16(p + 2);
    npos = get_u16(p + 4);
    n = nneg + npos;
    zt = get_f64(p + 8);
    if (schema < NATIVEHIST_SCHEMA_MIN || schema > NATIVEHIST_SCHEMA_MAX ||
        n > NATIVEHIST_HARD_MAX ||
        len != NATIVEHIST_ENCODED_HEADER + NATIVEHIST_ENCODED_BUCKET * n || !(zt >= 0) || isinf(zt))
        return ERRCODE_FORMAT;
    memset(&t, 0, sizeof t);
    t.schema = (int8_t)schema;
    t.zero_threshold = zt;
    t.count = get_u64(p + 16);
    t.sum = get_f64(p + 24);
    t.zero_count = get_u64(p + 32);
    if (t.zero_count > t.count || check_buckets(p + NATIVEHIST_ENCODED_HEADER, nneg, npos, schema,
                                                zt, t.count - t.zero_count) != 0)
        return ERRCODE_FORMAT;
    if (zt != cfg->zero_threshold)
        return ERRCODE_CONFIG;
    if (n > 0) {
        rehome(&t, n);
        keys = keys_of(&t);
        p += NATIVEHIST_ENCODED_HEADER;
        for (size_t i = 0; i < n; i++, p += NATIVEHIST_ENCODED_BUCKET) {
            keys[i] = get_i32(p);
            t.b[i] = get_u64(p + 4);
        }
        t.nneg = (uint16_t)nneg;
        t.npos = (uint16_t)npos;
    }
    while (t.schema > cfg->schema && t.schema > NATIVEHIST_SCHEMA_MIN)
        halve(&t);
    while (total_of(&t) > limit && t.schema > NATIVEHIST_SCHEMA_MIN)
        halve(&t);
    free(h->b);
    *h = t;
    return 0;
}
