// STYLE habit 2: a module is reached only through its index.ts. A module is a top-level folder
// of src/ (images, policy, runtime, …) or a folder of src/platform (config, database, queue, …);
// the composition roots (src/*.ts, src/platform/*.ts) are exempt;
// inside one module any relative import is fine, across two it must name the module's folder
// (its index.ts) and nothing below it.
import * as path from 'node:path';

function moduleOf(relFromSrc) {
  const parts = relFromSrc.split(path.sep);
  // src/main.ts, src/app.module.ts and src/platform/*.ts compose the modules: they may reach in.
  if (parts.length < 2 || (parts[0] === 'platform' && parts.length < 3)) return undefined;
  return parts[0] === 'platform' ? parts.slice(0, 2).join('/') : parts[0];
}

export const moduleBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'cross a module boundary only through its index.ts' },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const srcRoot = path.join(context.cwd, 'src');
    const rel = path.relative(srcRoot, file);
    if (rel.startsWith('..')) return {};
    const from = moduleOf(rel);
    if (!from) return {};
    const check = (node) => {
      const spec = node.source && node.source.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.relative(srcRoot, path.resolve(path.dirname(file), spec));
      if (target.startsWith('..')) return;
      const to = moduleOf(target + path.sep + 'x');
      if (!to || to === from) return;
      const rest = path.relative(path.join(srcRoot, to), path.join(srcRoot, target));
      if (rest === '' || rest === 'index') return;
      context.report({
        node: node.source,
        message: `import '${spec}' reaches into module '${to}': import it through its index ('${path.relative(path.dirname(file), path.join(srcRoot, to)) || '.'}') and export what you need there`,
      });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};
