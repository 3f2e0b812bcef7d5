/*
 * linkcheck: an empty program, linked with one layer's library whole (every object in
 * it) and the layers below it (aggregator/CMakeLists.txt). It links only if no object of
 * the layer calls a function of a layer above; it is never run.
 */
int main(void);

int main(void)
{
    return 0;
}
