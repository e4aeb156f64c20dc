/* The hello-world image's only program (built with gcc -static by scripts/mkimage-hello). */
#include <unistd.h>

static const char message[] =
    "\n"
    "Hello from Docker!\n"
    "This message shows that your installation appears to be working correctly.\n"
    "\n"
    "(This image was built by dockyard's scripts/mkimage-hello from a static C program.)\n"
    "\n"
    "To generate this message, the engine:\n"
    " 1. created a new container from the \"hello-world\" image,\n"
    " 2. ran the executable that produces the output you are currently reading,\n"
    " 3. streamed that output to the client, which sent it to your terminal.\n"
    "\n";

int main(void) {
    const char *p = message;
    size_t left = sizeof(message) - 1;
    while (left > 0) {
        ssize_t n = write(1, p, left);
        if (n <= 0)
            return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}
