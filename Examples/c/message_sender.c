/* message sender: sends "build finished: 42" to the target "ops".
 *   cordon build Examples/c/message_sender.c -o /tmp/message_sender.wasm
 *   cordon run /tmp/message_sender.wasm --export notify 42 --grant send_message
 * stderr: [message_sender → ops] build finished: 42
 * stdout: 0
 * Without --grant send_message: -2.
 */
#include "cordon.h"

CORDON_EXPORT("notify") int32_t notify(int32_t build) {
    static char payload[48] = "build finished: ";
    int32_t len = 16 + cordon_itoa(build, payload + 16);
    return cordon_send("ops", payload, len);
}
