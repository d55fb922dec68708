/** The facts of an ELF header that tell where a binary runs. */
export interface ElfInfo {
  class: 'ELF32' | 'ELF64';
  endianness: 'little' | 'big';
  /** e_machine: 243 is RISC-V, 62 x86-64, 183 AArch64. */
  machine: number;
  machineName: string;
  type: 'EXEC' | 'DYN' | 'REL' | 'CORE' | 'NONE';
  /** No PT_INTERP and no PT_DYNAMIC program header: nothing to load at run time. */
  isStatic: boolean;
  hasInterpreter: boolean;
}

export const EM_RISCV = 243;
const MACHINES: Record<number, string> = { 3: 'x86', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V' };
const TYPES = ['NONE', 'REL', 'EXEC', 'DYN', 'CORE'] as const;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

export class NotElfError extends Error {}

/** Parses the ELF header and program headers from the first bytes of a file (4 KiB is plenty). */
export function parseElf(buf: Buffer): ElfInfo {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) {
    const start = buf
      .subarray(0, 16)
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, '.');
    throw new NotElfError(`not an ELF file (starts with '${start}')`);
  }
  const is64 = buf[4] === 2;
  const little = buf[5] === 1;
  const u16 = (o: number) => (little ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => Number(little ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const type = TYPES[u16(16)] ?? 'NONE';
  const machine = u16(18);
  const phoff = is64 ? u64(32) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  let hasInterpreter = false;
  let hasDynamic = false;
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) throw new Error(`program header ${i} lies beyond the ${buf.length} bytes read`);
    const pType = u32(off);
    if (pType === PT_INTERP) hasInterpreter = true;
    if (pType === PT_DYNAMIC) hasDynamic = true;
  }
  return {
    class: is64 ? 'ELF64' : 'ELF32',
    endianness: little ? 'little' : 'big',
    machine,
    machineName: MACHINES[machine] ?? `machine ${machine}`,
    type,
    isStatic: !hasInterpreter && !hasDynamic,
    hasInterpreter,
  };
}

export function describeElf(e: ElfInfo): string {
  return `${e.class} ${e.endianness}-endian ${e.machineName} (e_machine ${e.machine}) ${e.type}, ${e.isStatic ? 'statically linked' : e.hasInterpreter ? 'dynamically linked (has an interpreter)' : 'dynamic section present'}`;
}
