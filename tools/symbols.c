/* Names for code addresses in another process: see symbols.h.
 *
 * addr -> the mapping of /proc/PID/maps holding it -> the file offset
 * (addr - start + mapping offset) -> the virtual address in the ELF file
 * (through the PT_LOAD segment holding that offset) -> the FUNC symbol
 * whose [value, value + size) holds it.  Files are mapped read-only and
 * parsed once; names found are cached per address (hundreds of threads
 * share a few start routines). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols.h"

struct mapping {
	uint64_t start, end, offset;
	char *path;
};

struct symbol {
	uint64_t value, size;
	const char *name;              /* inside the file's mapping */
	int rank;                      /* lower is preferred among equal values */
};

struct elf_file {
	char *path;
	void *map;                     /* the whole file, read-only; NULL: not ELF */
	size_t size;
	const Elf64_Phdr *loads[16];   /* its PT_LOAD segments */
	int nloads;
	struct symbol *syms;           /* FUNC symbols sorted by value */
	size_t nsyms;
	struct elf_file *next;
};

struct cached_name {
	uint64_t addr;                 /* 0: empty */
	char *name;
};

struct gs_symbols {
	int pid;
	struct mapping *maps;
	size_t nmaps;
	int maps_loaded;               /* 1: read; 2: read again after a miss */
	struct elf_file *files;
	struct cached_name *cache;     /* open addressing, power-of-two size */
	size_t cache_cap, cache_n;
};

struct gs_symbols *gs_symbols_new(int pid)
{
	struct gs_symbols *s = calloc(1, sizeof *s);
	if (s)
		s->pid = pid;
	return s;
}

static void free_maps(struct gs_symbols *s)
{
	for (size_t i = 0; i < s->nmaps; i++)
		free(s->maps[i].path);
	free(s->maps);
	s->maps = NULL;
	s->nmaps = 0;
}

void gs_symbols_free(struct gs_symbols *s)
{
	if (!s)
		return;
	free_maps(s);
	for (struct elf_file *f = s->files, *next; f; f = next) {
		next = f->next;
		if (f->map)
			munmap(f->map, f->size);
		free(f->syms);
		free(f->path);
		free(f);
	}
	for (size_t i = 0; i < s->cache_cap; i++)
		free(s->cache[i].name);
	free(s->cache);
	free(s);
}

/* File-backed mappings of /proc/PID/maps. */
static void load_maps(struct gs_symbols *s)
{
	free_maps(s);
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", s->pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return;
	char line[4352];
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long start, end, offset;
		int path_at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end, &offset, &path_at) < 3 ||
		    !path_at || line[path_at] != '/')
			continue;
		line[strcspn(line, "\n")] = 0;
		if (s->nmaps == cap) {
			cap = cap ? 2 * cap : 64;
			struct mapping *m = realloc(s->maps, cap * sizeof *m);
			if (!m)
				break;
			s->maps = m;
		}
		char *path = strdup(line + path_at);
		if (!path)
			break;
		s->maps[s->nmaps++] = (struct mapping){ start, end, offset, path };
	}
	fclose(f);
}

static const struct mapping *find_mapping(struct gs_symbols *s, uint64_t addr)
{
	for (int pass = 0; pass < 2; pass++) {
		if (s->maps_loaded <= pass) { /* first use, or a miss: a dlopen since? */
			load_maps(s);
			s->maps_loaded = pass + 1;
		}
		for (size_t i = 0; i < s->nmaps; i++)
			if (addr >= s->maps[i].start && addr < s->maps[i].end)
				return &s->maps[i];
	}
	return NULL;
}

/* Lower is better: a public-looking name (puts over _IO_puts), then
 * global over weak over local. */
static int symbol_rank(const Elf64_Sym *sym, const char *name)
{
	int bind = ELF64_ST_BIND(sym->st_info);
	int r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
	return (name[0] == '_') * 4 + r;
}

static int by_address(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->rank - y->rank;
}

/* Whether [off, off + len) lies in a file of `size` bytes, without the
 * sum wrapping around (the file is the target's: it may be made up). */
static int within(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* Adds the FUNC symbols of one SHT_SYMTAB or SHT_DYNSYM section. */
static int add_symbols(struct elf_file *f, const Elf64_Ehdr *eh, const Elf64_Shdr *sh, size_t *cap)
{
	const Elf64_Shdr *shdrs = (const Elf64_Shdr *)((const char *)f->map + eh->e_shoff);
	if (sh->sh_link >= eh->e_shnum || sh->sh_entsize != sizeof(Elf64_Sym) ||
	    !within(f->size, sh->sh_offset, sh->sh_size))
		return 0;
	const Elf64_Shdr *strsh = &shdrs[sh->sh_link];
	if (!within(f->size, strsh->sh_offset, strsh->sh_size) || strsh->sh_size == 0)
		return 0;
	const char *strtab = (const char *)f->map + strsh->sh_offset;
	const Elf64_Sym *syms = (const Elf64_Sym *)((const char *)f->map + sh->sh_offset);
	size_t n = sh->sh_size / sizeof(Elf64_Sym);
	for (size_t i = 0; i < n; i++) {
		const Elf64_Sym *sym = &syms[i];
		int type = ELF64_ST_TYPE(sym->st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF ||
		    sym->st_value == 0 || sym->st_name >= strsh->sh_size)
			continue;
		const char *name = strtab + sym->st_name;
		if (!memchr(name, 0, strsh->sh_size - sym->st_name) || !*name)
			continue;
		if (f->nsyms == *cap) {
			*cap = *cap ? 2 * *cap : 1024;
			struct symbol *p = realloc(f->syms, *cap * sizeof *p);
			if (!p)
				return -1;
			f->syms = p;
		}
		f->syms[f->nsyms++] = (struct symbol){ sym->st_value, sym->st_size, name,
						      symbol_rank(sym, name) };
	}
	return 0;
}

/* Maps and parses an ELF64 file of this machine's byte order; a file that
 * is not one keeps map == NULL (names fall back to file+offset). */
static void parse_elf(struct elf_file *f, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(Elf64_Ehdr))
		return;
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return;
	f->map = map;
	f->size = (size_t)st.st_size;
	const Elf64_Ehdr *eh = map;
	const int native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != native || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !within(f->size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		goto not_elf;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)map + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum && f->nloads < 16; i++)
		if (ph[i].p_type == PT_LOAD)
			f->loads[f->nloads++] = &ph[i];
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !within(f->size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return; /* no sections: segments only */
	const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)map + eh->e_shoff);
	size_t cap = 0;
	for (int i = 0; i < eh->e_shnum; i++)
		if ((sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_DYNSYM) &&
		    add_symbols(f, eh, &sh[i], &cap) != 0)
			break;
	qsort(f->syms, f->nsyms, sizeof *f->syms, by_address);
	return;
not_elf:
	munmap(map, f->size);
	f->map = NULL;
	f->nloads = 0;
}

static struct elf_file *elf_file(struct gs_symbols *s, const struct mapping *m)
{
	const char *path = m->path;
	for (struct elf_file *f = s->files; f; f = f->next)
		if (!strcmp(f->path, path))
			return f;
	struct elf_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return NULL;
	}
	/* The very file mapped (root only: CAP_SYS_ADMIN), so that a path the
	 * target's user replaced since (with a symlink to a device, say) is
	 * never opened by root; else the file as the process sees it (its
	 * root may differ from ours), then as we do. */
	char name[4200];
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	snprintf(name, sizeof name, "/proc/%d/map_files/%llx-%llx", s->pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	int fd = open(name, flags);
	/* Root goes by the path only where map_files is closed to it (no
	 * CAP_SYS_ADMIN: a container); a mapping gone since is not looked
	 * for by name. */
	if (fd < 0 && (geteuid() != 0 || errno == EPERM || errno == EACCES)) {
		snprintf(name, sizeof name, "/proc/%d/root%s", s->pid, path);
		fd = open(name, flags);
		if (fd < 0)
			fd = open(path, flags);
	}
	if (fd >= 0) {
		parse_elf(f, fd);
		close(fd);
	}
	f->next = s->files;
	s->files = f;
	return f;
}

/* The FUNC symbol holding vaddr: the nearest at or below it whose size
 * covers it (a symbol of size 0 only when vaddr is its very address). */
static const struct symbol *find_symbol(const struct elf_file *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->nsyms;
	while (lo < hi) { /* first symbol with value > vaddr */
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms[mid].value <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct symbol *best = NULL;
	for (size_t i = lo; i-- > 0 && lo - i <= 64;) { /* nested symbols are rare */
		const struct symbol *sym = &f->syms[i];
		int holds = vaddr < sym->value + sym->size || (sym->size == 0 && vaddr == sym->value);
		if (holds && (!best || sym->value > best->value ||
			      (sym->value == best->value && sym->rank <= best->rank)))
			best = sym;
	}
	return best;
}

static void describe(struct gs_symbols *s, uint64_t addr, char *out, size_t size)
{
	const struct mapping *m = find_mapping(s, addr);
	if (!m) {
		snprintf(out, size, "0x%llx", (unsigned long long)addr);
		return;
	}
	uint64_t off = addr - m->start + m->offset;
	const char *base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
	struct elf_file *f = elf_file(s, m);
	for (int i = 0; f && i < f->nloads; i++) {
		const Elf64_Phdr *p = f->loads[i];
		if (off < p->p_offset || off >= p->p_offset + p->p_filesz)
			continue;
		const struct symbol *sym = find_symbol(f, off - p->p_offset + p->p_vaddr);
		if (!sym)
			break;
		uint64_t delta = off - p->p_offset + p->p_vaddr - sym->value;
		if (delta)
			snprintf(out, size, "%s+0x%llx", sym->name, (unsigned long long)delta);
		else
			snprintf(out, size, "%s", sym->name);
		return;
	}
	snprintf(out, size, "%s+0x%llx", base, (unsigned long long)off);
}

static int cache_grow(struct gs_symbols *s)
{
	size_t cap = s->cache_cap ? 2 * s->cache_cap : 256;
	struct cached_name *c = calloc(cap, sizeof *c);
	if (!c)
		return -1;
	for (size_t i = 0; i < s->cache_cap; i++) {
		if (!s->cache[i].addr)
			continue;
		size_t j = (s->cache[i].addr >> 4) & (cap - 1);
		while (c[j].addr)
			j = (j + 1) & (cap - 1);
		c[j] = s->cache[i];
	}
	free(s->cache);
	s->cache = c;
	s->cache_cap = cap;
	return 0;
}

const char *gs_symbols_name(struct gs_symbols *s, uint64_t addr)
{
	static char scratch[512]; /* when the cache cannot grow */
	if (addr == 0)
		return "0x0"; /* 0 marks an empty cache entry */
	if (s->cache_n * 2 >= s->cache_cap && cache_grow(s) != 0) {
		describe(s, addr, scratch, sizeof scratch);
		return scratch;
	}
	size_t j = (addr >> 4) & (s->cache_cap - 1);
	for (; s->cache[j].addr; j = (j + 1) & (s->cache_cap - 1))
		if (s->cache[j].addr == addr)
			return s->cache[j].name;
	describe(s, addr, scratch, sizeof scratch);
	char *name = strdup(scratch);
	if (!name)
		return scratch;
	s->cache[j] = (struct cached_name){ addr, name };
	s->cache_n++;
	return name;
}
