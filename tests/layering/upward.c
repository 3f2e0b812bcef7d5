/*
 * upward: a file that includes a header of the store layer. Compiled against the view of
 * the base layer it must fail (an upward include fails the build); against the store
 * layer's own view it must compile (tests/CMakeLists.txt, unit/layering_view_*).
 */
#include "store/registry.h"

int upward(void);

int upward(void)
{
    return 0;
}
