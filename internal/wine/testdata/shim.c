/* bcryptprimitives.dll for Wine 8, for tests only and never shipped: Go 1.22
   and later load ProcessPrng from it at start, which Wine 8 lacks. It fills
   the buffer from RtlGenRandom (SystemFunction036 in advapi32), the system's
   random generator. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return SystemFunction036(data, (ULONG)len); }
