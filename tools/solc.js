#!/usr/bin/env node
// A native-solc look-alike over the npm `solc` package (the wasm build), for
// py-solc-x and brownie: answers `--version` and `--standard-json`, and reads
// imports from the file system (relative to the working folder, --base-path
// and --include-path, limited to --allow-paths when given).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

function parseArgs(argv) {
  const opts = { roots: [process.cwd()], allowed: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i];
    if (arg === '--version' || arg === '-v') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path') opts.roots.unshift(path.resolve(value()));
    else if (arg === '--include-path') opts.roots.push(path.resolve(value()));
    else if (arg === '--allow-paths') opts.allowed.push(...value().split(',').map((p) => path.resolve(p)));
    else if (arg.startsWith('--allow-paths=')) opts.allowed.push(...arg.slice(14).split(',').map((p) => path.resolve(p)));
    else if (arg === '-') continue;
    else { opts.unknown = arg; }
  }
  return opts;
}

function importReader(opts) {
  const permitted = (file) => opts.allowed.length === 0
    || opts.roots.concat(opts.allowed).some((root) => file === root || file.startsWith(root + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : opts.roots.map((root) => path.join(root, importPath));
    for (const file of candidates) {
      if (permitted(file) && fs.existsSync(file)) {
        return { contents: fs.readFileSync(file, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath}` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write(`only --version and --standard-json are supported${opts.unknown ? ` (got ${opts.unknown})` : ''}\n`);
    return 1;
  }
  const input = fs.readFileSync(0, 'utf8');
  process.stdout.write(solc.compile(input, { import: importReader(opts) }));
  return 0;
}

process.exitCode = main();
