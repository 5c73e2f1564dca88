// ESLint for the web app: typescript-eslint, the rules of hooks, accessibility (jsx-a11y), and
// the feature boundaries (bulletproof-react's): a feature imports from shared/ and from itself,
// never from another feature; what two features need goes to shared/.
import { readdirSync } from "node:fs";
import js from "@eslint/js";
import jsxA11y from "eslint-plugin-jsx-a11y";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const features = readdirSync(new URL("./src/features", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const featureBoundaries = features.map((feature) => ({
  files: [`src/features/${feature}/**/*.{ts,tsx}`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: features
          .filter((other) => other !== feature)
          .map((other) => ({
            group: [`@/features/${other}`, `@/features/${other}/**`, `**/features/${other}/**`, `../../${other}/**`],
            message: `features/${feature} may not import from features/${other}: move what both need to shared/.`,
          })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/shared/api/*.d.ts"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      // The rules of hooks; the React Compiler's stricter rules (refs, set-state-in-effect) are
      // not adopted (we do not use the compiler).
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  { files: ["src/**/*.tsx"], ...jsxA11y.flatConfigs.recommended },
  // shared/ is below the features: it may not import any of them.
  {
    files: ["src/shared/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@/features/**", "**/features/**"], message: "shared/ may not import a feature." }] },
      ],
    },
  },
  ...featureBoundaries,
);
