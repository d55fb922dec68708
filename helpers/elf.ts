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
  /** e_flags: for RISC-V, bit 0 RVC, bits 1-2 the float ABI, bit 3 RVE (the embedded, 16-register base). */
  flags: number;
}

const EF_RISCV_RVE = 0x8;
const RISCV_FLOAT_ABI = ['soft-float', 'single-float', 'double-float', 'quad-float'] as const;

/**
 * Why this binary does not run on a linux/riscv64 (rv64gc) host, or undefined when it does: it must be
 * ELF64, little-endian, RISC-V, and not built for the RV32E/RV64E embedded base.
 */
export function riscv64Problem(e: ElfInfo): string | undefined {
  const wrong = [
    e.class !== 'ELF64' && `${e.class} (riscv64 needs ELF64)`,
    e.endianness !== 'little' && `${e.endianness}-endian (riscv64 is little-endian)`,
    e.machine !== EM_RISCV && `${e.machineName} (e_machine ${e.machine}, riscv64 is ${EM_RISCV})`,
    e.machine === EM_RISCV && e.flags & EF_RISCV_RVE && 'built for the RVE base (e_flags has EF_RISCV_RVE)',
  ].filter(Boolean);
  return wrong.length > 0 ? `${wrong.join(', ')}: ${describeElf(e)}` : undefined;
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
  const flags = u32(is64 ? 48 : 36);
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
    flags,
  };
}

export function describeElf(e: ElfInfo): string {
  const abi =
    e.machine === EM_RISCV
      ? ` ${e.flags & 1 ? 'RVC ' : ''}${RISCV_FLOAT_ABI[(e.flags >> 1) & 3]}${e.flags & EF_RISCV_RVE ? ' RVE' : ''}`
      : '';
  return `${e.class} ${e.endianness}-endian ${e.machineName}${abi} (e_machine ${e.machine}, e_flags 0x${e.flags.toString(16)}) ${e.type}, ${e.isStatic ? 'statically linked' : e.hasInterpreter ? 'dynamically linked (has an interpreter)' : 'dynamic section present'}`;
}
