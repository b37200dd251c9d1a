"""Train on a folder-per-class set, predict, explain one image as a heatmap PNG, measure its AOPC."""
import sys
import bowlrp

data = sys.argv[1] if len(sys.argv) > 1 else "shapes/images"  # DATA/<class>/<image>
if len(sys.argv) == 1:  # no data given: 3 x 12 synthetic shapes
    bowlrp.datasets.write_shapes("shapes", classes=["circle", "square", "triangle"], images_per_class=12, width=96, height=96)
model = bowlrp.fit(data, words=32)  # any FitOptions knob as a keyword
images = bowlrp.datasets.scan_folder(data)["paths"]
print(model.predict(images[:5]).labels)
explanation = model.explain(images[0])  # its top class; .relevance is H x W float64
bowlrp.write_png("heatmap.png", bowlrp.render.heatmap(explanation))
quality = bowlrp.evaluate_explanation(model, images[0], explanation.class_name)
print(f"{explanation.class_name}: AOPC lrp {quality.aopc['lrp']:.3f}, random {quality.aopc['random']:.3f}")
