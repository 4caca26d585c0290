// Public API of @proj/trainer. Nothing is exported yet: see README.md.
export {};
