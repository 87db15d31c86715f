// Stylesheets imported for their side effect are bundled by esbuild into app.css.
declare module "*.css";
