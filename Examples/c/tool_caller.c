/* tool caller: calls the host tool "reverse" with "cordon" and logs the answer.
 *   cordon build Examples/c/tool_caller.c -o /tmp/tool_caller.wasm
 *   cordon run /tmp/tool_caller.wasm --export call_reverse --grant call_tool
 * stderr: [tool_caller] info: tool said: nodroc
 * stdout: 6            (the reply's length)
 * `cordon run` registers two demonstration tools: echo and reverse.
 * Without --grant call_tool: -2. An unknown tool: -1.
 */
#include "cordon.h"

CORDON_EXPORT("call_reverse") int32_t call_reverse(void) {
    static char reply[64];
    static char line[96] = "tool said: ";
    int32_t n = cordon_tool("reverse", "cordon", 6, reply, sizeof reply);
    if (n < 0) return n;
    if (n > (int32_t)sizeof reply) return CORDON_E_TOO_LARGE; /* full length returned, nothing written */
    for (int32_t i = 0; i < n; i++) line[11 + i] = reply[i];
    host_log(CORDON_INFO, line, 11 + n);
    return n;
}
