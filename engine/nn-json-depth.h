/* nn-json-depth.h — a guard to run before json-glib parses untrusted text
 * (private).
 *
 * json-glib's parser recurses once per nesting level, so a file of a million
 * '[' overflows the stack and crashes the program. Our own formats nest a
 * few levels deep; anything deeper is refused before it reaches the parser. */
#pragma once

#include <glib.h>

/* TRUE when no bracket in the first @len bytes of @json (outside strings)
 * opens deeper than @max_depth. @len may be -1 for a nul-terminated text. */
static inline gboolean
nn_json_depth_ok (const char *json, gssize len, int max_depth)
{
  gboolean in_string = FALSE;
  int depth = 0;

  for (gssize i = 0; len < 0 ? json[i] != '\0' : i < len; i++)
    {
      char c = json[i];

      if (in_string)
        {
          if (c == '\\' && (len < 0 ? json[i + 1] != '\0' : i + 1 < len))
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max_depth)
            return FALSE;
        }
      else if (c == '}' || c == ']')
        depth--;
    }
  return TRUE;
}
