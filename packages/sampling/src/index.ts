// Public API of @proj/sampling. Nothing is exported yet: see README.md.
export {};
