#pragma once

/* Wait for OWNER (a pid) to end, then exec CMD (NULL-terminated argv). */
int owner_reaper_main(const char *owner_text, char **cmd);
