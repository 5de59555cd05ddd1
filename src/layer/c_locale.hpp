#pragma once
// Module-private: runs libarchive under the "C" locale on this thread, whatever the
// process locale is. libarchive converts PAX names between UTF-8 and the current
// locale, so without this the same tree could give different tar bytes under
// LANG=en_US.UTF-8 and LANG=C. Under "C", non-ASCII names are stored as raw bytes with a
// per-entry `hdrcharset=BINARY` record, and read back byte for byte.
#include <locale.h>

#include <clocale>

namespace cbuild::layer {

class ScopedCLocale {
 public:
  ScopedCLocale() : m_c(newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0))) {
    if (m_c) m_previous = uselocale(m_c);
  }
  ~ScopedCLocale() {
    if (!m_c) return;
    uselocale(m_previous);
    freelocale(m_c);
  }
  ScopedCLocale(const ScopedCLocale&) = delete;
  ScopedCLocale& operator=(const ScopedCLocale&) = delete;

 private:
  locale_t m_c;
  locale_t m_previous = static_cast<locale_t>(0);
};

}  // namespace cbuild::layer
