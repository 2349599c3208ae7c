// Standard streams: stdin echoed upper-cased to stdout, a line to stderr, exit status 0.
#include <ctype.h>
#include <stdio.h>

int main(void) {
    int c, n = 0;
    while ((c = getchar()) != EOF) {
        putchar(toupper(c));
        n++;
    }
    printf("\n%d bytes in\n", n);
    fprintf(stderr, "a line on stderr\n");
    for (int i = 0; i < 3; i++) printf("line %d: %s\n", i, i % 2 ? "odd" : "even");
    return 0;
}
