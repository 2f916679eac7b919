/* podrun's entry: node with the CLI, in the user's own namespace when run by an ordinary user (entry.c). */
#pragma once

/* exec `node SCRIPT ARG...` (as an ordinary user: inside the user's namespace); returns only on failure: 125, 127 */
int podrun_entry(char **script_and_args);
