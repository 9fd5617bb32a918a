/* The first call of a lazily loaded function (see lib.rs): load its library, look the function
 * up, keep it in the table for every later call, and return it for the trampoline to jump to. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

extern void *jingwei_lazy_table[];
extern const char jingwei_lazy_names[];
extern const unsigned jingwei_lazy_offsets[];
extern const unsigned char jingwei_lazy_lib[];
extern const char *const jingwei_lazy_sonames[];
extern const char *const jingwei_lazy_labels[];

static void *handles[8];

__attribute__((visibility("hidden"))) void *jingwei_lazy_resolve(long entry) {
    unsigned lib = jingwei_lazy_lib[entry];
    const char *name = jingwei_lazy_names + jingwei_lazy_offsets[entry];
    void *h = __atomic_load_n(&handles[lib], __ATOMIC_ACQUIRE);
    if (!h) {
        /* Two threads may both get here: dlopen counts references and returns one handle. */
        h = dlopen(jingwei_lazy_sonames[lib], RTLD_LAZY | RTLD_GLOBAL);
        if (!h) {
            fprintf(stderr, "jingwei: the %s library could not be loaded (%s); install it and try again\n",
                    jingwei_lazy_labels[lib], dlerror());
            exit(127);
        }
        __atomic_store_n(&handles[lib], h, __ATOMIC_RELEASE);
    }
    void *f = dlsym(h, name);
    if (!f) {
        fprintf(stderr, "jingwei: %s (%s) has no function %s: it is not the version Jingwei was built with\n",
                jingwei_lazy_labels[lib], jingwei_lazy_sonames[lib], name);
        exit(127);
    }
    __atomic_store_n(&jingwei_lazy_table[entry], f, __ATOMIC_RELEASE);
    return f;
}
